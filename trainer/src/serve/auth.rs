//! Optional API-key auth: with `--api-key-file FILE` (or the environment variable
//! `GLASSBOX_API_KEY`) the inference and admin routes need `Authorization: Bearer KEY`; the
//! probes, metrics and documentation stay open so orchestrators and scrapers need no secret.
//!
//! Only the key's SHA-256 is kept, and a presented key is hashed and compared in constant time
//! (`subtle`), so neither the comparison's timing nor a memory dump or a `Debug` print gives the
//! key away; no message or log line ever contains a presented or configured key.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::errors::ApiError;

/// The environment variable read when no `--api-key-file` is given.
pub(crate) const ENV: &str = "GLASSBOX_API_KEY";

/// The SHA-256 of the configured key.
pub(crate) struct ApiKey {
    digest: [u8; 32],
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl ApiKey {
    fn new(key: &str) -> Self {
        Self {
            digest: Sha256::digest(key.as_bytes()).into(),
        }
    }

    /// The key from `file` (surrounding whitespace trimmed), else from `GLASSBOX_API_KEY`,
    /// else none (no auth). An empty key is an error, never "no auth".
    pub fn configured(file: Option<&Path>) -> Result<Option<Self>> {
        let (key, source) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the API key file {}", path.display()))?;
                (text, format!("the API key file {}", path.display()))
            }
            None => match std::env::var(ENV) {
                Ok(key) => (key, ENV.to_string()),
                Err(std::env::VarError::NotPresent) => return Ok(None),
                Err(_) => bail!("{ENV} is not valid UTF-8"),
            },
        };
        let key = key.trim();
        if key.is_empty() {
            bail!("{source} holds an empty key; put the key in it or leave auth off");
        }
        Ok(Some(Self::new(key)))
    }

    /// Whether `presented` is the key, in time independent of where they differ.
    pub fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest[..].ct_eq(&self.digest[..]).into()
    }
}

/// The token of an `Authorization: Bearer TOKEN` header (the scheme name in any case).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Middleware on the protected routes: 401 unless the request carries the key.
pub(crate) async fn require_key(
    State(key): State<Arc<ApiKey>>,
    req: Request,
    next: Next,
) -> Response {
    match bearer(req.headers()) {
        Some(token) if key.matches(token) => next.run(req).await,
        Some(_) => ApiError::unauthorized("the API key is wrong").into_response(),
        None => ApiError::unauthorized(
            "this route needs an API key: send `Authorization: Bearer <key>`",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_the_exact_key_matches() {
        let key = ApiKey::new("s3cret-key");
        assert!(key.matches("s3cret-key"));
        for wrong in ["", "s3cret-ke", "s3cret-key ", "S3CRET-KEY", "s3cret-keyy"] {
            assert!(!key.matches(wrong), "{wrong:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_key() {
        let shown = format!("{:?}", ApiKey::new("s3cret-key"));
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn the_bearer_token_is_read_from_the_header() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
            bearer(&h).map(str::to_string)
        };
        assert_eq!(with("Bearer abc").as_deref(), Some("abc"));
        assert_eq!(with("bearer  abc ").as_deref(), Some("abc"));
        assert_eq!(with("Basic abc"), None);
        assert_eq!(with("Bearer "), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[test]
    fn a_key_file_is_trimmed_and_an_empty_one_refused() {
        let dir = std::env::temp_dir().join(format!("glassbox-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("key");
        std::fs::write(&file, "  abc123\n").unwrap();
        let key = ApiKey::configured(Some(&file)).unwrap().unwrap();
        assert!(key.matches("abc123"));
        std::fs::write(&file, "\n").unwrap();
        let err = ApiKey::configured(Some(&file)).unwrap_err().to_string();
        assert!(err.contains("empty key"), "{err}");
        let missing = ApiKey::configured(Some(&dir.join("nope"))).unwrap_err();
        assert!(
            format!("{missing:#}").contains("cannot read"),
            "{missing:#}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
