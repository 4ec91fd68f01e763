//! Mirror of the registry in an MLflow model registry, for teams that already run an MLflow
//! tracking server: each glassbox version becomes an MLflow model version tagged with its
//! manifest hash, and each registry alias (`champion`, …) an MLflow alias on that version.
//!
//! A blocking client of MLflow's REST API 2.0 (`/api/2.0/mlflow/...`). Every write looks first
//! for what it would create, so a sync retried after a crash creates nothing twice. The URL's
//! credentials (`http://user:password@host`) are sent as HTTP basic auth and never shown in
//! messages.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use glassbox_model::weights::bundle::Metric;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use ureq::http::Uri;

/// Where MLflow serves its REST API under the server's URL.
const API: &str = "/api/2.0/mlflow";
/// Bounds the wait for a TCP connection, so a wrong host fails fast.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Bounds one whole request; MLflow answers registry calls in milliseconds.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The model-version tag holding the glassbox version (`1.2.0`).
pub const VERSION_TAG: &str = "glassbox.version";
/// The model-version tag holding the manifest hash: the identity a sync looks versions up by.
pub const HASH_TAG: &str = "glassbox.hash";

/// What the mirror needs to know about one registered glassbox version.
pub struct MirrorVersion<'a> {
    /// glassbox model version, e.g. `1.2.0`.
    pub version: &'a str,
    /// SHA-256 of the bundle's `manifest.json` (the registry's address).
    pub hash: &'a str,
    /// Where the bundle lives: a path, or a remote URI (`s3://…`) passed through unchanged.
    pub source: &'a str,
    /// Evaluation scores, one `metric.<task>.<name>.<split>` tag each.
    pub metrics: &'a [Metric],
    /// The version's description in MLflow, e.g. the registration reason.
    pub description: &'a str,
}

/// One registered model on one MLflow tracking server.
pub struct Mlflow {
    /// The server's URL as given (credentials included), without a trailing `/`.
    base: String,
    /// The same URL without credentials, for messages.
    shown: String,
    /// The registered model's name in MLflow.
    model: String,
    agent: ureq::Agent,
}

/// MLflow's JSON answer to a request it refused.
#[derive(Debug, Deserialize)]
struct Refusal {
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    message: String,
    #[serde(skip)]
    status: u16,
}

impl Refusal {
    fn is_missing(&self) -> bool {
        self.error_code == "RESOURCE_DOES_NOT_EXIST"
    }
}

/// An answer from the server: the parsed body, or why it refused.
type Answer<T> = std::result::Result<T, Refusal>;

#[derive(Debug, Deserialize)]
struct Tag {
    key: String,
    #[serde(default)]
    value: String,
}

#[derive(Debug, Deserialize)]
struct ModelVersion {
    version: String,
    #[serde(default)]
    tags: Vec<Tag>,
}

impl ModelVersion {
    fn tag(&self, key: &str) -> Option<&str> {
        self.tags
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }
}

#[derive(Debug, Deserialize)]
struct OneVersion {
    model_version: ModelVersion,
}

#[derive(Debug, Deserialize)]
struct Versions {
    #[serde(default)]
    model_versions: Vec<ModelVersion>,
}

#[derive(Debug, Deserialize)]
struct AliasEntry {
    alias: String,
}

#[derive(Debug, Deserialize)]
struct RegisteredModel {
    #[serde(default)]
    aliases: Vec<AliasEntry>,
}

#[derive(Debug, Deserialize)]
struct OneModel {
    registered_model: RegisteredModel,
}

impl fmt::Display for Mlflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MLflow model '{}' at {}", self.model, self.shown)
    }
}

impl Mlflow {
    /// A client of the server at `url` (http or https, optionally with a path prefix) for the
    /// registered model `model_name`. Contacts nothing yet.
    pub fn new(url: &str, model_name: &str) -> Result<Self> {
        let base = url.trim_end_matches('/').to_string();
        let shown = shown_url(&base)?;
        if model_name.trim().is_empty() {
            bail!("the MLflow registered-model name is empty");
        }
        literal(model_name)?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build();
        Ok(Self {
            base,
            shown,
            model: model_name.to_string(),
            agent: ureq::Agent::new_with_config(config),
        })
    }

    /// Creates the registered model when missing, then the model version unless one tagged
    /// `glassbox.hash == hash` exists (idempotent: a retried sync after a crash creates nothing
    /// twice). Tags: `glassbox.version`, `glassbox.hash`, one per metric
    /// (`metric.<task>.<name>.<split>`). Returns MLflow's own version number.
    pub fn sync_version(&self, v: &MirrorVersion) -> Result<String> {
        check_hash(v.hash)?;
        self.ensure_model()?;
        if let Some(existing) = self.find(v.hash)? {
            return Ok(existing.version);
        }
        let body = json!({
            "name": self.model,
            "source": source_uri(v.source)?,
            "description": v.description,
            "tags": version_tags(v),
        });
        let created: OneVersion = self.expect_post("model-versions/create", &body)?;
        Ok(created.model_version.version)
    }

    /// Points MLflow alias `alias` (e.g. `champion`) at the version mirroring `hash`.
    pub fn set_alias(&self, alias: &str, hash: &str) -> Result<()> {
        check_hash(hash)?;
        let version = self.find(hash)?.with_context(|| {
            format!("no version of {self} mirrors the glassbox bundle {hash}: sync it before pointing '{alias}' at it")
        })?;
        let body = json!({ "name": self.model, "alias": alias, "version": version.version });
        let _: Value = self.expect_post("registered-models/alias", &body)?;
        Ok(())
    }

    /// The glassbox version an MLflow alias points at (`None` when unset, or when the model
    /// was never mirrored), so a caller can confirm the mirror agrees with the folder.
    pub fn alias_version(&self, alias: &str) -> Result<Option<String>> {
        let model = match self.get::<OneModel>("registered-models/get", &self.name_query())? {
            Ok(m) => m.registered_model,
            Err(r) if r.is_missing() => return Ok(None),
            Err(r) => return Err(self.refused("registered-models/get", r)),
        };
        if !model.aliases.iter().any(|a| a.alias == alias) {
            return Ok(None);
        }
        let query = [("name", self.model.as_str()), ("alias", alias)];
        let found: OneVersion = self.expect_get("registered-models/alias", &query)?;
        let version = found.model_version;
        let glassbox = version.tag(VERSION_TAG).with_context(|| {
            format!(
                "alias '{alias}' of {self} points at MLflow version {}, which has no {VERSION_TAG} tag: it was not mirrored from glassbox",
                version.version
            )
        })?;
        Ok(Some(glassbox.to_string()))
    }

    /// Creates the registered model unless it exists (also when a concurrent sync made it).
    fn ensure_model(&self) -> Result<()> {
        match self.get::<Value>("registered-models/get", &self.name_query())? {
            Ok(_) => return Ok(()),
            Err(r) if r.is_missing() => {}
            Err(r) => return Err(self.refused("registered-models/get", r)),
        }
        let body = json!({ "name": self.model, "description": "Mirrored from a glassbox model registry." });
        match self.post::<Value>("registered-models/create", &body)? {
            Err(r) if r.error_code != "RESOURCE_ALREADY_EXISTS" => {
                Err(self.refused("registered-models/create", r))
            }
            _ => Ok(()),
        }
    }

    /// The version tagged with `hash`; the oldest if a race ever made two.
    fn find(&self, hash: &str) -> Result<Option<ModelVersion>> {
        let filter = format!(
            "name={} and tags.`{HASH_TAG}`='{hash}'",
            literal(&self.model)?
        );
        let query = [("filter", filter.as_str()), ("max_results", "100")];
        let found: Versions = self.expect_get("model-versions/search", &query)?;
        // Filtered again here: the hash is the identity, whatever the server's filter does.
        Ok(found
            .model_versions
            .into_iter()
            .filter(|v| v.tag(HASH_TAG) == Some(hash))
            .min_by_key(|v| v.version.parse::<u64>().unwrap_or(u64::MAX)))
    }

    fn name_query(&self) -> [(&str, &str); 1] {
        [("name", self.model.as_str())]
    }

    fn expect_get<T: DeserializeOwned>(&self, endpoint: &str, query: &[(&str, &str)]) -> Result<T> {
        self.get(endpoint, query)?
            .map_err(|r| self.refused(endpoint, r))
    }

    fn expect_post<T: DeserializeOwned>(&self, endpoint: &str, body: &Value) -> Result<T> {
        self.post(endpoint, body)?
            .map_err(|r| self.refused(endpoint, r))
    }

    fn get<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        query: &[(&str, &str)],
    ) -> Result<Answer<T>> {
        let reply = self
            .agent
            .get(format!("{}{API}/{endpoint}", self.base))
            .query_pairs(query.iter().copied())
            .call();
        self.answer(endpoint, reply)
    }

    fn post<T: DeserializeOwned>(&self, endpoint: &str, body: &Value) -> Result<Answer<T>> {
        let reply = self
            .agent
            .post(format!("{}{API}/{endpoint}", self.base))
            .send_json(body);
        self.answer(endpoint, reply)
    }

    /// Reads a reply: the parsed body on success, MLflow's refusal otherwise (a body that is
    /// not MLflow's JSON, e.g. a proxy's error page, becomes a refusal quoting its start).
    fn answer<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        reply: std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Answer<T>> {
        let mut reply = reply.map_err(|e| self.unreachable(endpoint, e))?;
        let status = reply.status().as_u16();
        let text = reply.body_mut().read_to_string().with_context(|| {
            format!(
                "cannot read MLflow's answer from {}{API}/{endpoint}",
                self.shown
            )
        })?;
        if reply.status().is_success() {
            let parsed = serde_json::from_str(&text).with_context(|| {
                format!(
                    "MLflow's answer from {}{API}/{endpoint} is not the expected JSON",
                    self.shown
                )
            })?;
            return Ok(Ok(parsed));
        }
        let refusal = serde_json::from_str::<Refusal>(&text).unwrap_or_else(|_| Refusal {
            error_code: String::new(),
            message: text.chars().take(200).collect(),
            status,
        });
        Ok(Err(Refusal { status, ..refusal }))
    }

    fn refused(&self, endpoint: &str, r: Refusal) -> anyhow::Error {
        let code = if r.error_code.is_empty() {
            "error"
        } else {
            r.error_code.as_str()
        };
        anyhow!(
            "MLflow at {}{API}/{endpoint} refused the request (HTTP {}, {code}): {}",
            self.shown,
            r.status,
            r.message.trim()
        )
    }

    fn unreachable(&self, endpoint: &str, e: ureq::Error) -> anyhow::Error {
        let url = format!("{}{API}/{endpoint}", self.shown);
        if cannot_connect(&e) {
            anyhow!(
                "cannot connect to {url} ({e}): is the MLflow server at {} running?",
                self.shown
            )
        } else {
            anyhow!("no answer from MLflow at {url}: {e}")
        }
    }
}

/// Whether the error means nothing answered at that address (as opposed to a broken answer).
fn cannot_connect(e: &ureq::Error) -> bool {
    use std::io::ErrorKind::{ConnectionRefused, ConnectionReset, NotFound};
    match e {
        ureq::Error::Io(io) => matches!(io.kind(), ConnectionRefused | ConnectionReset | NotFound),
        ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => true,
        ureq::Error::Timeout(t) => matches!(t, ureq::Timeout::Connect | ureq::Timeout::Resolve),
        _ => false,
    }
}

/// `url` without its user-info (credentials), after checking it is an http(s) URL with a host.
fn shown_url(url: &str) -> Result<String> {
    let uri: Uri = url.parse().map_err(|_| {
        anyhow!(
            "'{}' is not a URL (expected e.g. http://127.0.0.1:5000)",
            redact(url)
        )
    })?;
    let scheme = uri.scheme_str().unwrap_or_default();
    let Some(authority) = uri
        .authority()
        .filter(|_| matches!(scheme, "http" | "https"))
    else {
        bail!(
            "the MLflow URL '{}' must start with http:// or https:// and name a host",
            redact(url)
        );
    };
    let host = authority.as_str().rsplit('@').next().unwrap_or_default();
    Ok(format!(
        "{scheme}://{host}{}",
        uri.path().trim_end_matches('/')
    ))
}

/// Best-effort removal of `user:password@` from text that failed to parse as a URL.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// The hash goes into a search filter between quotes: only a plain hex digest is accepted.
fn check_hash(hash: &str) -> Result<()> {
    if hash.is_empty() || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("'{hash}' is not a manifest hash (a hex SHA-256 digest)");
    }
    Ok(())
}

/// `name` as a string literal of MLflow's search filter, which has no escapes: a name holding
/// a single quote goes between double quotes; one holding both kinds cannot be searched for.
fn literal(name: &str) -> Result<String> {
    match (name.contains('\''), name.contains('"')) {
        (false, _) => Ok(format!("'{name}'")),
        (true, false) => Ok(format!("\"{name}\"")),
        (true, true) => {
            bail!("the MLflow model name {name} holds both ' and \": MLflow cannot search for it")
        }
    }
}

/// The version's tags: identity first, then one per metric (a repeated metric keeps its last).
fn version_tags(v: &MirrorVersion) -> Vec<Value> {
    let mut tags = std::collections::BTreeMap::new();
    for m in v.metrics {
        let key = format!("metric.{}.{}.{}", m.task, m.name, m.split);
        tags.insert(key, m.value.to_string());
    }
    tags.insert(VERSION_TAG.to_string(), v.version.to_string());
    tags.insert(HASH_TAG.to_string(), v.hash.to_string());
    tags.into_iter()
        .map(|(key, value)| json!({ "key": key, "value": value }))
        .collect()
}

/// The version's `source`. MLflow's server refuses a local path as a source unless it lies
/// inside one of its runs' artifact folders, a guard against a client making the server read
/// its own disk; a glassbox bundle is no MLflow artifact, so a local path is stored as the
/// opaque URI `glassbox:<absolute path>`, which MLflow keeps without dereferencing. Remote
/// URIs (`s3://…`, `gs://…`) pass through unchanged.
fn source_uri(source: &str) -> Result<String> {
    let local = match source.split_once("://") {
        Some(("file", path)) => path,
        Some(_) => return Ok(source.to_string()),
        None => source,
    };
    let path = absolute(Path::new(local))?;
    let path = path
        .to_str()
        .with_context(|| format!("the bundle path {} is not UTF-8", path.display()))?;
    Ok(format!("glassbox:{path}"))
}

/// `path` made absolute and free of `.`/`..` (MLflow refuses relative references in a source):
/// resolved on disk when it exists, lexically otherwise.
fn absolute(path: &Path) -> Result<PathBuf> {
    if let Ok(real) = path.canonicalize() {
        return Ok(real);
    }
    let joined = std::path::absolute(path)
        .with_context(|| format!("cannot make the bundle path {} absolute", path.display()))?;
    let mut clean = PathBuf::new();
    for part in joined.components() {
        match part {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            other => clean.push(other),
        }
    }
    Ok(clean)
}
