//! The MLflow mirror against a real `mlflow server` (SQLite backend) from the project's `.venv`
//! (`scripts/setup.sh test` installs it from tests/mlflow/requirements.txt). What the mirror
//! wrote is read back through MLflow's REST API with plain GETs, not through the client.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use glassbox_model::weights::bundle::Metric;
use glassbox_trainer::registry::mlflow::{MirrorVersion, Mlflow};
use serde_json::Value;

/// How long a cold `mlflow server` may take to migrate its database and answer `/health`
/// (about 15 s on a busy 2-core machine).
const STARTUP: Duration = Duration::from_secs(60);
const MODEL: &str = "glassbox-tweets";

/// A port nothing listens on now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a local port is free");
    listener.local_addr().expect("the port is known").port()
}

/// A running `mlflow server` in its own process group, stopped (group and all) on drop.
struct MlflowServer {
    child: Child,
    url: String,
    dir: PathBuf,
    agent: ureq::Agent,
}

impl MlflowServer {
    fn start(name: &str) -> Self {
        let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv");
        let mlflow = venv.join("bin/mlflow");
        assert!(
            mlflow.is_file(),
            "{} is missing: run scripts/setup.sh test (it installs tests/mlflow/requirements.txt)",
            mlflow.display()
        );
        let dir =
            std::env::temp_dir().join(format!("glassbox-mlflow-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        let dir = dir.canonicalize().expect("temp dir resolves");
        let port = free_port();
        let log = File::create(dir.join("server.log")).expect("log file");
        let child = Command::new(&mlflow)
            .arg("server")
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
            .arg("--default-artifact-root")
            .arg(dir.join("artifacts"))
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--workers",
                "1",
            ])
            // The background job runner (and its worker processes) is not needed for the registry.
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
            .process_group(0)
            .stdout(Stdio::from(log.try_clone().expect("log file")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("mlflow server starts");
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build();
        let mut server = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            dir,
            agent: ureq::Agent::new_with_config(config),
        };
        server.wait_healthy();
        server
    }

    fn log(&self) -> String {
        fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    fn wait_healthy(&mut self) {
        let start = Instant::now();
        while start.elapsed() < STARTUP {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "mlflow server exited ({status}) before answering:\n{}",
                    self.log()
                );
            }
            let health = self.agent.get(format!("{}/health", self.url)).call();
            if health.is_ok_and(|r| r.status() == 200) {
                return;
            }
            thread::sleep(Duration::from_millis(250));
        }
        panic!(
            "mlflow server did not answer /health within {STARTUP:?}:\n{}",
            self.log()
        );
    }

    /// A GET of MLflow's REST API, independent of the client under test.
    fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Value {
        let mut reply = self
            .agent
            .get(format!("{}/api/2.0/mlflow/{endpoint}", self.url))
            .query_pairs(query.iter().copied())
            .call()
            .expect("mlflow answers");
        let status = reply.status();
        let body = reply.body_mut().read_to_string().expect("a text body");
        assert_eq!(status, 200, "GET {endpoint} {query:?}: {body}");
        serde_json::from_str(&body).expect("a JSON body")
    }

    /// Every version of the model: MLflow version number → (source, description, tags).
    fn versions(&self) -> BTreeMap<String, (String, String, BTreeMap<String, String>)> {
        let filter = format!("name='{MODEL}'");
        let found = self.get("model-versions/search", &[("filter", &filter)]);
        let versions = found["model_versions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        versions
            .iter()
            .map(|v| {
                let tags = v["tags"].as_array().cloned().unwrap_or_default();
                let tags = tags
                    .iter()
                    .map(|t| (text(&t["key"]), text(&t["value"])))
                    .collect();
                (
                    text(&v["version"]),
                    (text(&v["source"]), text(&v["description"]), tags),
                )
            })
            .collect()
    }

    /// The model's aliases: alias → MLflow version number.
    fn aliases(&self) -> BTreeMap<String, String> {
        let model = self.get("registered-models/get", &[("name", MODEL)]);
        let aliases = model["registered_model"]["aliases"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        aliases
            .iter()
            .map(|a| (text(&a["alias"]), text(&a["version"])))
            .collect()
    }
}

impl Drop for MlflowServer {
    fn drop(&mut self) {
        // `mlflow server` runs uvicorn as a child: signal the whole group, not just the leader.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

fn metric(task: &str, name: &str, value: f64, split: &str) -> Metric {
    Metric {
        task: task.into(),
        name: name.into(),
        value,
        split: split.into(),
        date: "2026-11-30T12:00:00Z".into(),
        ci95: None,
    }
}

fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn mirrors_versions_and_aliases_idempotently() {
    let server = MlflowServer::start("mirror");
    let mirror = Mlflow::new(&server.url, MODEL).unwrap();
    let (h1, h2, unknown) = ("1a".repeat(32), "2b".repeat(32), "3c".repeat(32));
    let v1_metrics = [
        metric("sentiment", "macro_f1", 0.75, "test"),
        metric("ner", "span_micro_f1", 0.5, "validation"),
    ];
    // A local path that does not exist here, written with a `..` MLflow would refuse.
    let v1_source = server.dir.join("registry/../registry/bundles").join(&h1);
    let v2_source = format!("s3://models/glassbox/{h2}");
    let v1 = MirrorVersion {
        version: "1.0.0",
        hash: &h1,
        source: v1_source.to_str().unwrap(),
        metrics: &v1_metrics,
        description: "first release",
    };
    let v2 = MirrorVersion {
        version: "1.2.0",
        hash: &h2,
        source: &v2_source,
        metrics: &[metric("sentiment", "macro_f1", 0.8125, "test")],
        description: "better sentiment",
    };

    assert_eq!(
        mirror.alias_version("champion").unwrap(),
        None,
        "nothing mirrored yet"
    );
    assert_eq!(mirror.sync_version(&v1).unwrap(), "1");
    assert_eq!(mirror.sync_version(&v2).unwrap(), "2");

    let versions = server.versions();
    assert_eq!(versions.len(), 2, "{versions:?}");
    let local = format!("glassbox:{}/registry/bundles/{h1}", server.dir.display());
    let v1_tags = tags(&[
        ("glassbox.version", "1.0.0"),
        ("glassbox.hash", &h1),
        ("metric.sentiment.macro_f1.test", "0.75"),
        ("metric.ner.span_micro_f1.validation", "0.5"),
    ]);
    assert_eq!(versions["1"], (local, "first release".into(), v1_tags));
    let v2_tags = tags(&[
        ("glassbox.version", "1.2.0"),
        ("glassbox.hash", &h2),
        ("metric.sentiment.macro_f1.test", "0.8125"),
    ]);
    assert_eq!(
        versions["2"],
        (v2_source.clone(), "better sentiment".into(), v2_tags)
    );

    // A sync retried (after a crash, or by a second promote) creates nothing new.
    assert_eq!(mirror.sync_version(&v1).unwrap(), "1");
    assert_eq!(mirror.sync_version(&v2).unwrap(), "2");
    assert_eq!(server.versions().len(), 2);

    mirror.set_alias("champion", &h1).unwrap();
    assert_eq!(server.aliases(), tags(&[("champion", "1")]));
    assert_eq!(
        mirror.alias_version("champion").unwrap().as_deref(),
        Some("1.0.0")
    );
    assert_eq!(mirror.alias_version("challenger").unwrap(), None);

    mirror.set_alias("champion", &h2).unwrap();
    assert_eq!(server.aliases(), tags(&[("champion", "2")]));
    assert_eq!(
        mirror.alias_version("champion").unwrap().as_deref(),
        Some("1.2.0")
    );

    let err = format!("{:#}", mirror.set_alias("champion", &unknown).unwrap_err());
    assert!(err.contains(&unknown) && err.contains("sync it"), "{err}");
    assert_eq!(
        server.aliases(),
        tags(&[("champion", "2")]),
        "a refused alias moves nothing"
    );

    let err = format!(
        "{:#}",
        mirror.set_alias("champion", "1a' or name='x").unwrap_err()
    );
    assert!(err.contains("not a manifest hash"), "{err}");

    // MLflow's own refusal is passed on with its error code: aliases like `v1` are reserved.
    let err = format!("{:#}", mirror.set_alias("v7", &h1).unwrap_err());
    assert!(
        err.contains("INVALID_PARAMETER_VALUE") && err.contains(&server.url),
        "{err}"
    );

    let never = Mlflow::new(&server.url, "never-mirrored").unwrap();
    assert_eq!(never.alias_version("champion").unwrap(), None);
}

#[test]
fn a_dead_url_asks_whether_the_server_runs_and_hides_credentials() {
    let port = free_port();
    let mirror = Mlflow::new(&format!("http://alice:s3cret@127.0.0.1:{port}/"), MODEL).unwrap();
    let metrics = [metric("sentiment", "macro_f1", 0.75, "test")];
    let hash = "ab".repeat(32);
    let v = MirrorVersion {
        version: "1.0.0",
        hash: &hash,
        source: "/srv/registry/bundles/x",
        metrics: &metrics,
        description: "",
    };
    let want = format!("is the MLflow server at http://127.0.0.1:{port} running?");
    let errors = [
        mirror.sync_version(&v).unwrap_err(),
        mirror.set_alias("champion", &hash).unwrap_err(),
        mirror.alias_version("champion").unwrap_err(),
    ];
    for err in errors {
        let err = format!("{err:#}");
        assert!(err.contains(&want), "{err}");
        assert!(!err.contains("s3cret") && !err.contains("alice"), "{err}");
    }
}

#[test]
fn refuses_what_it_cannot_use() {
    for url in [
        "ftp://127.0.0.1:5000",
        "127.0.0.1:5000",
        "http://",
        "not a url",
    ] {
        let err = Mlflow::new(url, MODEL).err().map(|e| format!("{e:#}"));
        assert!(err.is_some_and(|e| e.contains("URL")), "{url} was accepted");
    }
    let err = format!(
        "{:#}",
        Mlflow::new("ftp://bob:hunter2@host", MODEL).err().unwrap()
    );
    assert!(!err.contains("hunter2"), "{err}");
    assert!(Mlflow::new("http://127.0.0.1:5000", " ").is_err());
    assert!(Mlflow::new("http://127.0.0.1:5000", "it's \"quoted\"").is_err());
    assert!(Mlflow::new("https://mlflow.example.com/prefix/", "it's").is_ok());
}

/// A copy of the committed bundle as model version `version` (its manifest, hence its hash,
/// changes; the weights are shared).
fn bundle_as(dir: &Path, version: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../public/models/default");
    let out = dir.join(format!("bundle-{version}"));
    fs::create_dir_all(&out).unwrap();
    for e in fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), out.join(e.file_name())).unwrap();
    }
    let mut m: Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap();
    m["version"] = Value::from(version);
    fs::write(out.join("manifest.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    out
}

#[test]
fn registry_changes_are_mirrored_by_the_cli() {
    let server = MlflowServer::start("cli");
    let reg = server.dir.join("reg");
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
            .args([
                "registry",
                "--registry",
                reg.to_str().unwrap(),
                "--mlflow",
                &server.url,
                "--mlflow-model",
                MODEL,
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let (b1, b2) = (
        bundle_as(&server.dir, "1.0.0"),
        bundle_as(&server.dir, "1.1.0"),
    );
    run(&["register", b1.to_str().unwrap(), "--alias", "champion"]);
    run(&["register", b2.to_str().unwrap(), "--alias", "challenger"]);
    let glassbox_version = |n: &str| server.versions()[n].2["glassbox.version"].clone();
    let alias = |a: &str| glassbox_version(&server.aliases()[a]);
    assert_eq!(server.versions().len(), 2);
    assert_eq!(
        (alias("champion"), alias("challenger")),
        ("1.0.0".into(), "1.1.0".into())
    );
    run(&["promote", "1.1.0"]);
    assert_eq!(alias("champion"), "1.1.0");
    run(&["rollback"]);
    assert_eq!(alias("champion"), "1.0.0");
    // A full re-sync changes nothing.
    run(&["sync"]);
    assert_eq!(server.versions().len(), 2);
    assert_eq!(alias("champion"), "1.0.0");
}
