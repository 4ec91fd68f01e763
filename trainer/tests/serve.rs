//! `glassbox serve` as a client sees it: the real binary on a loopback port with the committed
//! default bundle, checked against the CLI's own output for the same texts.

/// Fixtures shared by the model's and the trainer's tests.
#[path = "../../tests/common/mod.rs"]
mod common;
mod serve_client;

use std::process::Command;
use std::sync::{Arc, Barrier};
use std::thread;

use serde_json::{json, Value};
use serve_client::{bundle, Reply, Server};

/// `glassbox <args>` with `--json`, parsed.
fn cli(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .current_dir(common::root())
        .args(args)
        .output()
        .expect("glassbox runs");
    assert!(
        out.status.success(),
        "glassbox {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Equal JSON, numbers within `tol` (a batch pads differently from the CLI's batches; a
/// sentence's numbers may move in the last float bits, nothing more).
fn assert_close(a: &Value, b: &Value, tol: f64, at: &str) {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= tol, "{at}: {x} vs {y}");
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}: lengths differ");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_close(x, y, tol, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(x), Value::Object(y)) => {
            let keys = |m: &serde_json::Map<String, Value>| m.keys().cloned().collect::<Vec<_>>();
            assert_eq!(keys(x), keys(y), "{at}: keys differ");
            for (k, v) in x {
                assert_close(v, &y[k], tol, &format!("{at}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

const TOL: f64 = 1e-5;

/// The server's per-input object without `truncated`, after checking that `truncated` says
/// whether the CLI reported a truncation.
fn without_truncated(mut v: Value) -> Value {
    let truncated = v["truncated"]
        .as_bool()
        .expect("every answer says `truncated`");
    let cut = v.get("truncation").is_some_and(|t| !t.is_null());
    assert_eq!(truncated, cut, "truncated agrees with truncation: {v}");
    v.as_object_mut().unwrap().remove("truncated");
    v
}

fn texts() -> Vec<String> {
    let mut t = common::parity_sentences();
    t.push("Justin Bieber played Madison Square Garden".into());
    t
}

/// `glassbox <command> --model|--bundle B --json <extra> <texts>`, parsed.
fn cli_on(command: &str, flag: &str, extra: &[&str], texts: &[String]) -> Value {
    let b = bundle().display().to_string();
    let mut args = vec![command, flag, &b, "--json"];
    args.extend(extra);
    args.extend(texts.iter().map(String::as_str));
    let v = cli(&args);
    // The CLI's per-text objects carry `truncated` like the server's: checked and stripped alike.
    if v.is_array() {
        objects(&v)
    } else {
        v
    }
}

/// The objects of a JSON array answer, each checked and stripped by [`without_truncated`].
fn objects(v: &Value) -> Value {
    let items = v.as_array().expect("an array answer");
    Value::Array(items.iter().cloned().map(without_truncated).collect())
}

/// An embedding as the f32s it is (JSON may spell the same f32 with more or fewer digits).
fn f32s(v: &Value) -> Vec<f32> {
    let items = v.as_array().expect("an embedding");
    items.iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

fn check_predict(s: &Server, texts: &[String]) {
    let want = cli_on("predict", "--bundle", &[], texts);
    let got = s.post("/predict", &json!({ "inputs": texts }));
    assert_eq!(got.status, 200, "{}", got.body);
    for h in [
        "x-total-time",
        "x-tokenization-time",
        "x-queue-time",
        "x-inference-time",
    ] {
        let ms: f64 = got.header(h).expect(h).parse().unwrap();
        assert!(ms >= 0.0, "{h}");
    }
    let long = texts.iter().position(|t| *t == common::long_paragraph());
    let listed = got.header("x-truncated-inputs").map(str::to_string);
    assert_eq!(listed, long.map(|i| i.to_string()), "x-truncated-inputs");
    assert_close(&objects(&got.json()), &want, TOL, "predict");
}

/// `/embed` against `glassbox embed`; `/tokenize` and `/v1/embeddings` against `/embed`.
fn check_embeddings(s: &Server, texts: &[String]) {
    let want = cli_on("embed", "--model", &[], texts);
    let embed = objects(&s.ok("/embed", &json!({ "inputs": texts })));
    assert_close(&embed, &want, TOL, "embed");
    let embed = embed.as_array().unwrap();
    let tokens = s.ok("/tokenize", &json!({ "inputs": texts }));
    for (t, e) in tokens.as_array().unwrap().iter().zip(embed) {
        let pieces: Vec<&Value> = t["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["piece"])
            .collect();
        let want: Vec<&Value> = e["tokens"].as_array().unwrap().iter().collect();
        assert_eq!(pieces, want, "tokenize agrees with embed for {}", t["text"]);
    }
    let openai = s.ok(
        "/v1/embeddings",
        &json!({"input": texts, "model": "anything"}),
    );
    assert_eq!(openai["object"], "list");
    let wordpieces: usize = embed
        .iter()
        .map(|e| e["tokens"].as_array().unwrap().len())
        .sum();
    assert_eq!(openai["usage"]["prompt_tokens"], wordpieces);
    let data = openai["data"].as_array().unwrap();
    assert_eq!(data.len(), texts.len());
    for (i, (d, e)) in data.iter().zip(embed).enumerate() {
        assert_eq!(
            (d["index"].as_u64(), &d["object"]),
            (Some(i as u64), &json!("embedding"))
        );
        assert_eq!(
            f32s(&d["embedding"]),
            f32s(&e["embedding"]),
            "same f32s as /embed"
        );
    }
}

fn check_similarity(s: &Server) {
    let pair = [
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "Stocks fell.",
    ];
    let want = cli_on("similarity", "--model", &pair, &[]);
    let body = json!({"inputs": {"source_sentence": pair[0], "sentences": pair[1..]}});
    let got = s.ok("/similarity", &body);
    let row = json!(want["cosine"][0].as_array().unwrap()[1..]);
    assert_close(&got, &row, TOL, "similarity");
    let flat = json!({"source_sentence": pair[0], "sentences": pair[1..]});
    assert_eq!(
        s.ok("/similarity", &flat),
        got,
        "the flat form answers the same"
    );
}

fn check_attention(s: &Server) {
    let text = "The cat sat on the mat.".to_string();
    let want = cli_on(
        "attention",
        "--model",
        &["--layer", "2", "--head", "5"],
        std::slice::from_ref(&text),
    );
    let got = s.ok(
        "/attention",
        &json!({"inputs": text, "layer": 2, "head": 5}),
    );
    assert_close(&objects(&got), &want, TOL, "attention");
}

fn check_info(s: &Server) {
    let info = s.get("/info").json();
    let bytes = std::fs::read(bundle().join("manifest.json")).unwrap();
    let manifest: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(info["model_name"], manifest["name"]);
    assert_eq!(
        info["sentence_labels"],
        manifest["config"]["sentence_labels"]
    );
    assert_eq!(info["token_labels"], manifest["config"]["token_labels"]);
    assert_eq!(info["max_input_length"], manifest["max_seq_len"]);
    assert_eq!(info["manifest_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(s.get("/health").json()["status"], "ok");
}

#[test]
fn routes_answer_what_the_cli_prints() {
    let s = Server::start(&["--enable-attention"]);
    let texts = texts();
    check_predict(&s, &texts);
    check_embeddings(&s, &texts);
    check_similarity(&s);
    check_attention(&s);
    check_info(&s);
}

#[test]
fn a_cache_hit_is_the_computed_answer_and_is_counted() {
    let s = Server::start(&[]);
    let body =
        json!({"inputs": ["cache me if you can", "Madonna sang in Paris"], "aggregate": "mean"});
    let hits = r#"glassbox_cache_hits_total{task="predict"}"#;
    let before = s.metric(hits);
    let first = s.post("/predict", &body);
    let second = s.post("/predict", &body);
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(first.body, second.body, "byte for byte");
    assert_eq!(
        s.metric(hits) - before,
        2.0,
        "both inputs hit the second time"
    );
    assert_eq!(
        second.header("x-queue-time"),
        Some("0.000"),
        "a hit never queues"
    );
    // Other options are another answer, not a hit.
    let first_piece = s.ok(
        "/predict",
        &json!({"inputs": ["cache me if you can"], "aggregate": "first"}),
    );
    assert_eq!(s.metric(hits) - before, 2.0);
    assert_eq!(first_piece[0]["text"], "cache me if you can");
}

#[test]
fn bad_inputs_are_refused_with_clear_json_errors() {
    let s = Server::start(&["--max-client-batch-size", "4", "--enable-attention"]);
    let error = |r: &Reply, status: u16, needle: &str| {
        assert_eq!(r.status, status, "{}", r.body);
        let v = r.json();
        let msg = v["error"].as_str().expect("JSON error body");
        assert!(msg.contains(needle), "{msg:?} should say {needle:?}");
        assert!(v["error_type"].is_string());
    };
    error(
        &s.post("/predict", &json!({"inputs": ["fine", ""]})),
        422,
        "index 1",
    );
    error(
        &s.post("/embed", &json!({"inputs": ["fine", "   \t\n "]})),
        422,
        "index 1",
    );
    error(
        &s.post("/embed", &json!({"inputs": ["a", "b", 3]})),
        422,
        "index 2",
    );
    error(
        &s.post("/predict", &json!({"inputs": {"text": "a"}})),
        422,
        "object",
    );
    error(&s.post("/predict", &json!({"text": "a"})), 422, "inputs");
    error(&s.post("/predict", &json!({"inputs": []})), 422, "empty");
    error(
        &s.post("/predict", &json!({"inputs": "a", "aggregate": "median"})),
        422,
        "median",
    );
    error(
        &s.post(
            "/similarity",
            &json!({"source_sentence": "a", "sentences": ["b", ""]}),
        ),
        422,
        "sentences at index 1",
    );
    error(
        &s.post("/attention", &json!({"inputs": "a", "layer": 6, "head": 0})),
        422,
        "6 layers",
    );
    error(
        &s.post(
            "/v1/embeddings",
            &json!({"input": "a", "encoding_format": "base64"}),
        ),
        422,
        "base64",
    );
    error(
        &s.post("/embed", &json!({"inputs": vec!["a"; 5]})),
        413,
        "at most 4",
    );
    error(&s.post_raw("/embed", "{not json"), 400, "");
    // Over-long text is cut and says so, never a failure.
    let long = "word ".repeat(5000);
    let v = s.ok("/predict", &json!({"inputs": long}));
    assert_eq!(v[0]["truncated"], true);
    assert!(v[0]["truncation"]["message"]
        .as_str()
        .unwrap()
        .contains("truncated"));
    // 100 kB: tokenized off the async runtime's threads, still cut to the model's length.
    let huge = "word ".repeat(20_000);
    let t = s.ok("/tokenize", &json!({ "inputs": [huge, "short"] }));
    assert_eq!(
        (&t[0]["truncated"], &t[1]["truncated"]),
        (&json!(true), &json!(false))
    );
    let max = s.get("/info").json()["max_input_length"].as_u64().unwrap();
    assert_eq!(t[0]["tokens"].as_array().unwrap().len() as u64, max);
    assert_eq!(s.get("/health").status, 200, "still alive");
}

#[test]
fn a_full_server_answers_429_and_keeps_serving() {
    let s = Arc::new(Server::start(&["--max-concurrent-requests", "1"]));
    let clients = 6;
    let barrier = Arc::new(Barrier::new(clients));
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (s, barrier) = (s.clone(), barrier.clone());
            thread::spawn(move || {
                // Distinct long texts: no cache hit can make a request short.
                let inputs: Vec<String> = (0..8)
                    .map(|i| format!("client {c} text {i}: {}", common::long_paragraph()))
                    .collect();
                barrier.wait();
                let r = s.post("/predict", &json!({ "inputs": inputs }));
                (r.status, r.json())
            })
        })
        .collect();
    let replies: Vec<(u16, Value)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let busy: Vec<&Value> = replies
        .iter()
        .filter(|r| r.0 == 429)
        .map(|r| &r.1)
        .collect();
    assert!(
        replies.iter().any(|r| r.0 == 200),
        "one request is answered"
    );
    assert!(
        !busy.is_empty(),
        "the others are refused: {:?}",
        replies.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    assert!(replies.iter().all(|r| r.0 == 200 || r.0 == 429));
    for v in busy {
        assert_eq!(v["error_type"], "overloaded");
    }
    let r = s.post("/attention", &json!({"inputs": "a", "layer": 0, "head": 0}));
    assert_eq!(r.status, 403, "attention is opt-in: {}", r.body);
    assert_eq!(
        s.ok("/embed", &json!({"inputs": "after the storm"}))[0]["text"],
        "after the storm"
    );
}

#[test]
fn many_clients_get_what_single_calls_get() {
    // No cache: every request goes through the batcher.
    let s = Arc::new(Server::start(&[
        "--cache-bytes",
        "0",
        "--max-batch-requests",
        "8",
    ]));
    let texts = texts();
    let single: Vec<Value> = texts
        .iter()
        .map(|t| s.ok("/predict", &json!({ "inputs": [t] }))[0].clone())
        .collect();
    let batches_before = s.metric("glassbox_batch_size_count");
    let clients = 8;
    let rounds = 3;
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (s, texts) = (s.clone(), texts.clone());
            thread::spawn(move || {
                (0..rounds)
                    .map(|r| {
                        // Each client asks for a different rotation of the texts.
                        let k = (c + r) % texts.len();
                        let mine: Vec<String> = texts[k..]
                            .iter()
                            .chain(&texts[..k])
                            .take(4)
                            .cloned()
                            .collect();
                        (mine.clone(), s.ok("/predict", &json!({ "inputs": mine })))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut inputs = 0;
    for h in handles {
        for (mine, got) in h.join().unwrap() {
            for (t, v) in mine.iter().zip(got.as_array().unwrap()) {
                let i = texts.iter().position(|x| x == t).unwrap();
                assert_close(v, &single[i], TOL, &format!("text {i}"));
                inputs += 1;
            }
        }
    }
    let batches = s.metric("glassbox_batch_size_count") - batches_before;
    assert!(
        batches < inputs as f64,
        "{inputs} inputs ran in {batches} forward passes: the batcher groups them"
    );
}

const ROUTES: [(&str, &str); 14] = [
    ("/predict", "post"),
    ("/embed", "post"),
    ("/similarity", "post"),
    ("/attention", "post"),
    ("/tokenize", "post"),
    ("/v1/embeddings", "post"),
    ("/info", "get"),
    ("/health", "get"),
    ("/ready", "get"),
    ("/metrics", "get"),
    ("/openapi.json", "get"),
    ("/admin/reload", "post"),
    ("/drift", "get"),
    ("/feedback", "post"),
];

/// Every route is documented with an example request (POST) and an example for every
/// response status, and the inference routes document their error statuses.
fn check_openapi(doc: &Value) {
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for (path, method) in ROUTES {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        if method == "post" {
            let example = &op["requestBody"]["content"]["application/json"]["example"];
            assert!(example.is_object(), "{path}: example request");
        }
        let responses = op["responses"].as_object().unwrap();
        // 200, or 202 for /feedback (recorded, not answered).
        assert!(
            responses.contains_key("200") || responses.contains_key("202"),
            "{path}: 2xx"
        );
        for (status, r) in responses {
            let contents = r["content"].as_object().into_iter().flatten();
            let examples = contents.filter(|(_, c)| !c["example"].is_null()).count();
            assert!(examples > 0, "{path} {status}: example response");
        }
        if method == "post" {
            check_protected(op, path);
        }
    }
    let paths = doc["paths"].as_object().unwrap().len();
    assert_eq!(paths, ROUTES.len(), "no undocumented extras");
    let scheme = &doc["components"]["securitySchemes"]["api_key"];
    assert_eq!(
        (&scheme["type"], &scheme["scheme"]),
        (&json!("http"), &json!("bearer")),
        "the API key is a bearer scheme: {scheme}"
    );
}

/// A POST route names the optional API key and documents its error statuses.
fn check_protected(op: &Value, path: &str) {
    let responses = op["responses"].as_object().unwrap();
    let mut statuses = vec!["401", "422", "503"];
    // Reload and feedback run no inputs through the model: no batch size, no queue.
    if path != "/admin/reload" && path != "/feedback" {
        statuses.extend(["413", "429"]);
    }
    for status in statuses {
        assert!(
            responses.contains_key(status),
            "{path}: {status} documented"
        );
    }
    let security = op["security"].as_array().expect("security listed");
    assert!(
        security.iter().any(|s| s.get("api_key").is_some()),
        "{path}: {security:?}"
    );
}

/// Sum of every series of a metric family (`name{…} value` lines).
fn family_sum(metrics: &str, name: &str) -> f64 {
    let prefix = format!("{name}{{");
    metrics
        .lines()
        .filter_map(|l| {
            l.strip_prefix(&prefix)?
                .rsplit(' ')
                .next()?
                .parse::<f64>()
                .ok()
        })
        .sum()
}

/// The named series exist, and the prediction counters agree with the answers given.
fn check_metrics(s: &Server, answers: &Value) {
    let text = s.get("/metrics").body;
    for series in [
        "requests_total",
        "request_duration_seconds",
        "stage_duration_seconds",
        "batch_size",
        "batch_padded_tokens",
        "queue_size",
        "cache_hits_total",
        "cache_misses_total",
        "cache_bytes",
        "predicted_class_total",
        "confidence",
        "entities_total",
        "inputs_total",
        "wordpieces_total",
        "unknown_wordpieces_total",
        "truncated_inputs_total",
    ] {
        let typed = format!("# TYPE glassbox_{series} ");
        assert!(
            text.contains(&typed),
            "glassbox_{series} missing from /metrics"
        );
    }
    let requests = r#"glassbox_requests_total{route="/predict",status="200"}"#;
    assert_eq!(s.metric(requests), 1.0);
    assert!(
        s.metric("glassbox_unknown_wordpieces_total") >= 1.0,
        "the emoji is [UNK]"
    );
    let answers = answers.as_array().unwrap();
    assert_eq!(s.metric("glassbox_confidence_count"), answers.len() as f64);
    for a in answers {
        let label = a["sentence"]["label"].as_str().unwrap();
        let series = format!(r#"glassbox_predicted_class_total{{label="{label}"}}"#);
        assert!(s.metric(&series) >= 1.0, "{series}");
    }
    let entities: usize = answers
        .iter()
        .map(|a| a["entities"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        family_sum(&text, "glassbox_entities_total"),
        entities as f64
    );
    assert_eq!(
        family_sum(&text, "glassbox_predicted_class_total"),
        answers.len() as f64
    );
}

#[test]
fn openapi_and_metrics_describe_the_server() {
    let s = Server::start(&[]);
    let texts = ["Justin Bieber played Madison Square Garden 🎉", "hi"];
    let answers = s.ok("/predict", &json!({ "inputs": texts }));
    let doc = s.get("/openapi.json");
    assert_eq!(doc.status, 200);
    check_openapi(&doc.json());
    check_metrics(&s, &answers);
}
