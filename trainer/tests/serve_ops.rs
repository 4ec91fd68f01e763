//! `glassbox serve`'s operational side, on the real binary with the committed bundle: Swagger
//! UI served offline, the optional API key (and that it never reaches the log), sampled and
//! redacted input/output logs, hot reload (a bad bundle refused, a good one swapped under
//! load without a failed request, SIGHUP) and a SIGTERM that drains the requests in flight.

#[path = "../../tests/common/mod.rs"]
mod common;
mod serve_client;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use serve_client::{bundle, Server};
use sha2::{Digest, Sha256};

/// A fresh directory for one test under cargo's per-target temporary directory.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("serve-ops-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A copy of the default bundle in `dir`.
fn copy_bundle(dir: &Path) -> PathBuf {
    let to = dir.join("bundle");
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(bundle()).unwrap() {
        let from = entry.unwrap().path();
        std::fs::copy(&from, to.join(from.file_name().unwrap())).unwrap();
    }
    to
}

fn sha256(path: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn swagger_ui_is_served_from_the_binary() {
    let s = Server::start(&[]);
    let page = s.get("/docs/");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(
        page.body.contains("swagger-ui-bundle.js"),
        "the page loads the bundle: {}",
        page.body
    );
    let js = s.get("/docs/swagger-ui-bundle.js");
    assert_eq!(js.status, 200);
    assert!(js.header("content-type").unwrap().contains("javascript"));
    assert!(
        js.body.len() > 100_000,
        "the real bundle, {} bytes",
        js.body.len()
    );
    let init = s.get("/docs/swagger-initializer.js");
    assert!(
        init.body.contains("/openapi.json"),
        "the UI reads this server's document: {}",
        init.body
    );
    assert_eq!(s.get("/docs").status, 303, "/docs redirects to /docs/");
}

/// A server whose key is in a file, and the key.
fn keyed_server(name: &str) -> (Server, String) {
    let key = "gbx-test-7f3a9c2e51d84b6a".to_string();
    let file = scratch(name).join("api-key");
    std::fs::write(&file, format!("{key}\n")).unwrap();
    let f = file.display().to_string();
    (Server::launch(&bundle(), &["--api-key-file", &f], &[]), key)
}

fn assert_unauthorized(r: &serve_client::Reply, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", r.body);
    assert_eq!(r.json()["error_type"], "unauthorized", "{what}");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{what}");
}

#[test]
fn the_api_key_guards_inference_and_admin_routes_only() {
    let (s, key) = keyed_server("key-file");
    let body = json!({"inputs": ["hello there"]}).to_string();
    let wrong = "Bearer gbx-wrong-0000";
    for path in ["/predict", "/embed", "/tokenize", "/admin/reload"] {
        assert_unauthorized(&s.post_as(path, &body, None), path);
        assert_unauthorized(&s.post_as(path, &body, Some(wrong)), path);
    }
    let right = format!("Bearer {key}");
    let ok = s.post_as("/predict", &body, Some(&right));
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()[0]["text"], "hello there");
    for path in [
        "/health",
        "/ready",
        "/info",
        "/metrics",
        "/openapi.json",
        "/docs/",
    ] {
        assert_eq!(s.get(path).status, 200, "{path} needs no key");
    }
    let failed = r#"glassbox_requests_total{route="/predict",status="401"}"#;
    assert_eq!(s.metric(failed), 2.0, "refusals are counted");
    thread::sleep(Duration::from_millis(300)); // the last log lines reach the pipe
    let log = s.log();
    assert!(log.contains("/predict"), "requests are logged:\n{log}");
    assert!(!log.contains(&key), "the key is in the server log");
    assert!(
        !log.contains("gbx-wrong"),
        "a presented key is in the server log"
    );
}

#[test]
fn the_api_key_can_come_from_the_environment() {
    let key = "gbx-env-key-42";
    let s = Server::launch(&bundle(), &[], &[("GLASSBOX_API_KEY", key)]);
    let body = json!({"inputs": "hi"}).to_string();
    assert_unauthorized(&s.post_as("/embed", &body, None), "no key");
    let ok = s.post_as("/embed", &body, Some(&format!("bearer {key}")));
    assert_eq!(ok.status, 200, "{}", ok.body);
    thread::sleep(Duration::from_millis(300));
    assert!(!s.log().contains(key));
}

/// The `glassbox::io` events in the server's log.
fn io_events(s: &Server) -> Vec<Value> {
    thread::sleep(Duration::from_millis(300));
    let events = s.log_events();
    events
        .into_iter()
        .filter(|e| e["target"] == "glassbox::io")
        .collect()
}

/// A field of an event that holds JSON text, parsed.
fn json_field(e: &Value, name: &str) -> Value {
    let text = e["fields"][name]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: {e}"));
    serde_json::from_str(text).unwrap()
}

const PRIVATE: &str =
    "@jane_doe mail me at jane.doe@example.com or call 555-123-4567, see https://t.co/AbC123";
const REDACTED: &str = "<MENTION> mail me at <EMAIL> or call <PHONE>, see <URL>";

#[test]
fn a_sampled_request_logs_redacted_inputs_and_its_outputs() {
    let s = Server::start(&["--log-io-sample", "1", "--log-io-seed", "3"]);
    let texts = [PRIVATE, "Justin Bieber played Madison Square Garden"];
    let r = s.post("/predict", &json!({ "inputs": texts }));
    assert_eq!(r.status, 200, "{}", r.body);
    let answers = r.json();
    let events = io_events(&s);
    assert_eq!(events.len(), 1, "one event per request: {events:?}");
    let e = &events[0];
    assert_eq!(e["fields"]["route"], "/predict");
    assert_eq!(
        e["fields"]["request_id"].as_str(),
        r.header("x-request-id"),
        "the event names the request"
    );
    let inputs = json_field(e, "inputs");
    assert_eq!(inputs, json!([REDACTED, texts[1]]));
    let outputs = json_field(e, "outputs");
    for (o, a) in outputs
        .as_array()
        .unwrap()
        .iter()
        .zip(answers.as_array().unwrap())
    {
        let label = a["sentence"]["label"].as_str().unwrap();
        assert_eq!(o["class"], label);
        assert_eq!(o["confidence"], a["sentence"]["probs"][label]);
        let spans = |v: &Value| -> Vec<Value> {
            let ents = v["entities"].as_array().unwrap().iter();
            ents.map(|x| json!([x["label"], x["start"], x["end"]]))
                .collect()
        };
        assert_eq!(spans(o), spans(a), "entity types and spans");
    }
    let log = s.log();
    for secret in [
        "jane.doe@example.com",
        "555-123-4567",
        "t.co/AbC123",
        "@jane_doe",
    ] {
        assert!(!log.contains(secret), "{secret} reached the log");
    }
    let e = s.ok("/embed", &json!({"inputs": PRIVATE}));
    assert_eq!(e[0]["text"], PRIVATE);
    let events = io_events(&s);
    assert_eq!(events.len(), 2);
    assert_eq!(json_field(&events[1], "inputs"), json!([REDACTED]));
}

#[test]
fn entities_are_redacted_on_request_and_nothing_is_logged_at_rate_zero() {
    let strict = Server::start(&["--log-io-sample", "1", "--redact-entities"]);
    let text = "Justin Bieber played Madison Square Garden";
    let answers = strict.ok("/predict", &json!({ "inputs": text }));
    let ents = answers[0]["entities"].as_array().unwrap();
    assert!(!ents.is_empty(), "the default bundle finds an entity here");
    let events = io_events(&strict);
    let logged = json_field(&events[0], "inputs")[0]
        .as_str()
        .unwrap()
        .to_string();
    for e in ents {
        let name = e["text"].as_str().unwrap();
        assert!(!logged.contains(name), "{name} in {logged}");
        let label = e["label"].as_str().unwrap().to_uppercase();
        assert!(logged.contains(&format!("<{label}>")), "{logged}");
    }
    let off = Server::start(&[]);
    off.ok("/predict", &json!({ "inputs": PRIVATE }));
    assert!(io_events(&off).is_empty(), "rate 0 logs no input");
    assert!(!off.log().contains("jane.doe@example.com"));
}

#[test]
fn a_tampered_bundle_is_refused_and_the_old_one_keeps_serving() {
    let s = Server::start(&[]);
    let before = s.get("/info").json()["manifest_sha256"].clone();
    let bad = copy_bundle(&scratch("tampered"));
    let weights = bad.join("model.bpk");
    let mut bytes = std::fs::read(&weights).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&weights, bytes).unwrap();
    let r = s.post("/admin/reload", &json!({"bundle": bad}));
    assert_eq!(r.status, 422, "{}", r.body);
    let msg = r.json()["error"].as_str().unwrap().to_string();
    assert!(
        msg.contains("model.bpk"),
        "the loader names the file: {msg}"
    );
    let missing = s.post("/admin/reload", &json!({"bundle": "/no/such/bundle"}));
    assert_eq!(missing.status, 422);
    assert!(missing.body.contains("does not exist"), "{}", missing.body);
    assert_eq!(s.post_raw("/admin/reload", "{nope").status, 422);
    assert_eq!(s.get("/info").json()["manifest_sha256"], before);
    let v = s.ok("/predict", &json!({"inputs": "still serving"}));
    assert_eq!(v[0]["text"], "still serving");
    let failed = r#"glassbox_reloads_total{result="failed"}"#;
    assert_eq!(s.metric(failed), 2.0, "the two refused bundles");
}

/// A copy of the default bundle with another version in its manifest: the same weights,
/// another manifest hash.
fn new_version(dir: &Path) -> PathBuf {
    let b = copy_bundle(dir);
    let path = b.join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    manifest["version"] = json!("0.1.1-reloaded");
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    b
}

/// `clients` threads posting `/predict` until `stop`; each returns its (status, answer) list.
fn hammer(
    s: &Arc<Server>,
    clients: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<thread::JoinHandle<Vec<(u16, String)>>> {
    (0..clients)
        .map(|c| {
            let (s, stop) = (s.clone(), stop.clone());
            thread::spawn(move || {
                let mut got = Vec::new();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) || got.len() < 3 {
                    let text = format!("client {c} asks question {i} about Paris");
                    let r = s.post("/predict", &json!({ "inputs": [text] }));
                    got.push((r.status, r.body));
                    i += 1;
                }
                got
            })
        })
        .collect()
}

#[test]
fn a_reload_under_load_loses_no_request() {
    let s = Arc::new(Server::start(&["--cache-bytes", "0"]));
    let next = new_version(&scratch("reload"));
    let want = sha256(&next.join("manifest.json"));
    let stop = Arc::new(AtomicBool::new(false));
    let clients = hammer(&s, 4, &stop);
    thread::sleep(Duration::from_millis(500));
    let r = s.post("/admin/reload", &json!({"bundle": next}));
    assert_eq!(r.status, 200, "{}", r.body);
    let done = r.json();
    assert_eq!(done["manifest_sha256"], want);
    assert_eq!(
        done["previous_manifest_sha256"],
        sha256(&bundle().join("manifest.json"))
    );
    thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let replies: Vec<(u16, String)> = clients
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let failed: Vec<&(u16, String)> = replies.iter().filter(|r| r.0 != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} failed: {failed:?}",
        failed.len(),
        replies.len()
    );
    let info = s.get("/info").json();
    assert_eq!(
        (&info["manifest_sha256"], &info["model_version"]),
        (&json!(want), &json!("0.1.1-reloaded"))
    );
    // SIGHUP re-reads the bundle now served.
    let ok = r#"glassbox_reloads_total{result="ok"}"#;
    s.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(120);
    while s.metric(ok) < 2.0 {
        assert!(
            Instant::now() < deadline,
            "no reload after SIGHUP:\n{}",
            s.log()
        );
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(s.get("/info").json()["manifest_sha256"], want);
    assert_eq!(
        s.ok("/embed", &json!({"inputs": "after"}))[0]["text"],
        "after"
    );
}

#[test]
fn sigterm_answers_the_requests_in_flight_then_exits_zero() {
    let mut s = Server::start(&["--cache-bytes", "0"]);
    let base = s.base.clone();
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let base = base.clone();
            thread::spawn(move || {
                let inputs: Vec<String> = (0..8)
                    .map(|i| format!("client {c} text {i}: {}", common::long_paragraph()))
                    .collect();
                let agent = ureq::Agent::new_with_config(
                    ureq::Agent::config_builder()
                        .http_status_as_error(false)
                        .build(),
                );
                let mut r = agent
                    .post(format!("{base}/predict"))
                    .send_json(json!({ "inputs": inputs }))
                    .expect("an answer, not a dropped connection");
                let status = r.status().as_u16();
                let body: Value =
                    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
                (status, body)
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Four requests plus the scrape itself.
    while s.metric("glassbox_requests_in_flight") < 5.0 {
        assert!(
            Instant::now() < deadline,
            "the requests never got in flight"
        );
        thread::sleep(Duration::from_millis(20));
    }
    s.signal("TERM");
    for h in clients {
        let (status, body) = h.join().unwrap();
        assert_eq!(status, 200, "{body}");
        assert_eq!(body.as_array().unwrap().len(), 8);
    }
    let status = s.wait_exit(Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "{}", s.log());
    assert!(s.log().contains("shutting down"));
}
