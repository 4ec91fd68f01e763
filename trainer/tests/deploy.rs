//! The deployment files (`deploy/`) checked against the real server rather than a list
//! written down here: every `--flag` a container passes must be in `glassbox serve --help`,
//! every HTTP path a manifest names must be in the `/openapi.json` the server serves, the
//! metric KEDA scales on must be in its `/metrics`, ports must agree with `--port`, and each
//! container's command line, run as it stands (bundle, host and port swapped for local ones),
//! must bring a server to `/ready`. So a renamed flag or route fails here, and new ones are
//! picked up without editing this file.

/// Fixtures shared by the model's and the trainer's tests.
#[path = "../../tests/common/mod.rs"]
mod common;
mod serve_client;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::Value;
use serve_client::{bundle, free_port, Server};

// ---------------------------------------------------------------- the files under deploy/

fn deploy_dir() -> PathBuf {
    common::root().join("deploy")
}

/// One YAML document and the file it came from (for messages).
struct Doc {
    file: String,
    value: Value,
}

impl Doc {
    fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or("")
    }

    fn api_group(&self) -> &str {
        let api = self.value["apiVersion"].as_str().unwrap_or("");
        api.split('/').next().unwrap_or("")
    }
}

/// Every `.yaml`/`.yml` file under `dir`, sorted, at any depth.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = entry.unwrap().path();
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if p.is_dir() {
                stack.push(p);
            } else if ext == "yaml" || ext == "yml" {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every document of every manifest; a file that does not parse fails the test.
fn docs() -> Vec<Doc> {
    let mut out = Vec::new();
    for path in yaml_files(&deploy_dir()) {
        let text = std::fs::read_to_string(&path).unwrap();
        let file = path
            .strip_prefix(common::root())
            .unwrap()
            .display()
            .to_string();
        for de in serde_norway::Deserializer::from_str(&text) {
            let value = Value::deserialize(de).unwrap_or_else(|e| panic!("{file}: {e}"));
            if !value.is_null() {
                out.push(Doc {
                    file: file.clone(),
                    value,
                });
            }
        }
    }
    out
}

fn only<'a>(docs: &'a [Doc], api_group: &str, kind: &str) -> &'a Doc {
    let found: Vec<_> = docs
        .iter()
        .filter(|d| d.kind() == kind && d.api_group() == api_group)
        .collect();
    assert_eq!(
        found.len(),
        1,
        "want exactly one {api_group} {kind} under deploy/"
    );
    found[0]
}

/// A container of a pod template, and which manifest it is in.
struct Container<'a> {
    file: &'a str,
    value: &'a Value,
}

impl Container<'_> {
    fn args(&self) -> Vec<String> {
        let args = self.value["args"].as_array();
        let args = args.unwrap_or_else(|| panic!("{}: container without args", self.file));
        args.iter()
            .map(|a| a.as_str().expect("args are strings").to_string())
            .collect()
    }

    /// The value after `--flag` (or in `--flag=value`).
    fn flag(&self, flag: &str) -> Option<String> {
        flag_value(&self.args(), flag)
    }

    fn port_flag(&self) -> u16 {
        let p = self
            .flag("--port")
            .unwrap_or_else(|| panic!("{}: no --port", self.file));
        p.parse().unwrap()
    }

    /// `port` of a probe or a Service: a number, or the name of one of this container's ports.
    fn resolve_port(&self, port: &Value) -> u16 {
        if let Some(n) = port.as_u64() {
            return n as u16;
        }
        let name = port.as_str().expect("port is a number or a name");
        let ports = self.value["ports"].as_array().expect("container ports");
        let p = ports.iter().find(|p| p["name"] == name);
        let p = p.unwrap_or_else(|| panic!("{}: no container port named {name}", self.file));
        p["containerPort"].as_u64().unwrap() as u16
    }
}

/// The containers of every Deployment and Knative Service.
fn containers(docs: &[Doc]) -> Vec<Container<'_>> {
    let mut out = Vec::new();
    for d in docs {
        if matches!(d.kind(), "Deployment" | "Service") {
            let list = d.value["spec"]["template"]["spec"]["containers"].as_array();
            for c in list.into_iter().flatten() {
                out.push(Container {
                    file: &d.file,
                    value: c,
                });
            }
        }
    }
    out
}

fn flag_value(args: &[String], flag: &str) -> Option<String> {
    let eq = format!("{flag}=");
    args.iter().enumerate().find_map(|(i, a)| {
        if a == flag {
            args.get(i + 1).cloned()
        } else {
            a.strip_prefix(&eq).map(str::to_string)
        }
    })
}

/// The `--flags` among command-line arguments (`--x=1` counts as `--x`).
fn flags_in(args: &[String]) -> Vec<String> {
    args.iter()
        .filter(|a| a.starts_with("--"))
        .map(|a| a.split('=').next().unwrap().to_string())
        .collect()
}

// ---------------------------------------------------------------- the Dockerfile

/// The Dockerfile as (INSTRUCTION, arguments) pairs: comments dropped, `\` continuations
/// joined, instructions upper-cased.
fn dockerfile() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(deploy_dir().join("Dockerfile")).unwrap();
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('#') || (t.is_empty() && current.is_empty()) {
            continue;
        }
        match t.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(t);
                let (ins, rest) = current
                    .split_once(char::is_whitespace)
                    .unwrap_or((&current, ""));
                out.push((ins.to_uppercase(), rest.trim().to_string()));
                current.clear();
            }
        }
    }
    out
}

/// An exec-form instruction's arguments (`["a", "b"]`); shell form fails the test, since
/// shell form would put `sh -c` between the container's signals and the server.
fn exec_form(ins: &str, rest: &str) -> Vec<String> {
    serde_json::from_str(rest).unwrap_or_else(|e| panic!("{ins} must be exec form: {e}: {rest}"))
}

/// The last stage: what the image runs.
fn final_stage(df: &[(String, String)]) -> &[(String, String)] {
    let start = df.iter().rposition(|(i, _)| i == "FROM").expect("a FROM");
    &df[start..]
}

fn instruction<'a>(stage: &'a [(String, String)], name: &str) -> &'a str {
    let found = stage.iter().rev().find(|(i, _)| i == name);
    &found
        .unwrap_or_else(|| panic!("the final stage has no {name}"))
        .1
}

/// The image's command line after `glassbox serve`: ENTRYPOINT then CMD.
fn image_args(df: &[(String, String)]) -> Vec<String> {
    let stage = final_stage(df);
    let entry = exec_form("ENTRYPOINT", instruction(stage, "ENTRYPOINT"));
    assert!(
        entry[0].ends_with("/glassbox") && entry[1] == "serve",
        "{entry:?}"
    );
    let mut args = entry[2..].to_vec();
    args.extend(exec_form("CMD", instruction(stage, "CMD")));
    args
}

/// `http://127.0.0.1:PORT/path…` and `localhost` URLs in a text: (port, path).
fn loopback_urls(text: &str) -> Vec<(u16, String)> {
    let mut out = Vec::new();
    for host in ["http://127.0.0.1:", "http://localhost:"] {
        for (at, _) in text.match_indices(host) {
            let rest = &text[at + host.len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let path: String = rest[digits.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || "/._-".contains(*c))
                .collect();
            out.push((digits.parse().unwrap(), path));
        }
    }
    out
}

// ---------------------------------------------------------------- the real server

/// Runs `glassbox serve` with a manifest's arguments, changing only what must be local:
/// the bundle path, the host (loopback) and the port (a free one).
fn start_as(manifest_args: &[String]) -> Server {
    let port = free_port();
    let mut args = vec!["serve".to_string()];
    let mut it = manifest_args.iter();
    while let Some(a) = it.next() {
        let local = match a.as_str() {
            "--bundle" => bundle().display().to_string(),
            "--host" => "127.0.0.1".to_string(),
            "--port" => port.to_string(),
            _ => {
                args.push(a.clone());
                continue;
            }
        };
        it.next();
        args.extend([a.clone(), local]);
    }
    Server::spawn(&args, port, &[])
}

/// GET `path`, which must answer 200; its body.
fn ok(s: &Server, path: &str) -> String {
    let r = s.get(path);
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    r.body
}

/// What the server says about itself, read once from a server run with the Deployment's
/// own arguments.
struct Facts {
    flags: BTreeSet<String>,
    paths: BTreeSet<String>,
    metrics: String,
}

fn facts() -> &'static Facts {
    static FACTS: OnceLock<Facts> = OnceLock::new();
    FACTS.get_or_init(|| {
        let docs = docs();
        let deployment = only(&docs, "apps", "Deployment");
        let c = &containers(std::slice::from_ref(deployment))[0];
        let server = start_as(&c.args());
        let openapi: Value = serde_json::from_str(&ok(&server, "/openapi.json")).unwrap();
        let paths = openapi["paths"].as_object().expect("openapi paths");
        Facts {
            flags: serve_help_flags(),
            paths: paths.keys().cloned().collect(),
            metrics: ok(&server, "/metrics"),
        }
    })
}

/// The long flags `glassbox serve --help` lists.
fn serve_help_flags() -> BTreeSet<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_glassbox"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "glassbox serve --help failed");
    let help = String::from_utf8(out.stdout).unwrap();
    let flags: BTreeSet<String> = help
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .map(str::to_string)
        .collect();
    assert!(
        flags.contains("--bundle"),
        "help lists no --bundle:\n{help}"
    );
    flags
}

/// HTTP paths named in a manifest: `path:` keys (probes), `…/path` annotations, loopback URLs.
fn http_paths(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| http_paths(v, k, out)),
        Value::Array(a) => a.iter().for_each(|v| http_paths(v, key, out)),
        Value::String(s) => {
            if (key == "path" || key.ends_with("/path")) && s.starts_with('/') {
                out.push(s.clone());
            }
            out.extend(loopback_urls(s).into_iter().map(|(_, p)| p));
        }
        _ => {}
    }
}

// ---------------------------------------------------------------- the checks

#[test]
fn every_manifest_parses_and_the_expected_kinds_are_there() {
    let docs = docs();
    let kinds: BTreeSet<String> = docs
        .iter()
        .map(|d| format!("{}/{}", d.api_group(), d.kind()))
        .collect();
    for want in [
        "apps/Deployment",
        "v1/Service",
        "policy/PodDisruptionBudget",
        "autoscaling/HorizontalPodAutoscaler",
        "keda.sh/ScaledObject",
        "serving.knative.dev/Service",
        "kustomize.config.k8s.io/Kustomization",
    ] {
        assert!(
            kinds.contains(want),
            "no {want} under deploy/ (found {kinds:?})"
        );
    }
}

#[test]
fn every_flag_in_a_container_or_the_image_is_a_real_serve_flag() {
    let docs = docs();
    let mut command_lines: Vec<(String, Vec<String>)> = containers(&docs)
        .iter()
        .map(|c| (c.file.to_string(), c.args()))
        .collect();
    command_lines.push(("deploy/Dockerfile".into(), image_args(&dockerfile())));
    let known = &facts().flags;
    for (file, args) in command_lines {
        for flag in flags_in(&args) {
            assert!(
                known.contains(&flag),
                "{file}: {flag} is not in `glassbox serve --help`"
            );
        }
    }
}

#[test]
fn every_command_line_brings_a_server_to_ready() {
    // The Deployment's is run by `facts()`; the Knative one and the image's here.
    let docs = docs();
    let knative = only(&docs, "serving.knative.dev", "Service");
    let c = &containers(std::slice::from_ref(knative))[0];
    let s = start_as(&c.args());
    assert_eq!(ok(&s, "/health"), r#"{"status":"ok"}"#);
    drop(s);
    let s = start_as(&image_args(&dockerfile()));
    ok(&s, "/info");
    assert!(!facts().paths.is_empty());
}

#[test]
fn every_http_path_named_in_deploy_is_a_route_of_the_server() {
    let mut named: Vec<(String, String)> = Vec::new();
    for d in docs() {
        let mut paths = Vec::new();
        http_paths(&d.value, "", &mut paths);
        named.extend(paths.into_iter().map(|p| (d.file.clone(), p)));
    }
    for name in ["Dockerfile", "README.md"] {
        let text = std::fs::read_to_string(deploy_dir().join(name)).unwrap();
        let urls = loopback_urls(&text);
        named.extend(urls.into_iter().map(|(_, p)| (format!("deploy/{name}"), p)));
    }
    let known = &facts().paths;
    assert!(named.len() >= 8, "too few paths found: {named:?}");
    for (file, path) in &named {
        assert!(
            known.contains(path),
            "{file}: {path} is not in /openapi.json ({known:?})"
        );
    }
}

#[test]
fn the_deployment_probes_readiness_on_ready_and_liveness_on_health() {
    let docs = docs();
    for c in containers(&docs) {
        let v = c.value;
        assert_eq!(
            v["readinessProbe"]["httpGet"]["path"], "/ready",
            "{}",
            c.file
        );
        assert_eq!(
            v["livenessProbe"]["httpGet"]["path"], "/health",
            "{}",
            c.file
        );
    }
}

#[test]
fn every_port_agrees_with_the_port_flag() {
    let docs = docs();
    let deployment = only(&docs, "apps", "Deployment");
    for c in containers(&docs) {
        let port = c.port_flag();
        let ports = c.value["ports"].as_array().expect("ports");
        assert_eq!(ports.len(), 1, "{}: one port", c.file);
        assert_eq!(ports[0]["containerPort"], port, "{}", c.file);
        for probe in ["readinessProbe", "livenessProbe"] {
            let p = &c.value[probe]["httpGet"]["port"];
            if !p.is_null() {
                assert_eq!(c.resolve_port(p), port, "{}: {probe}", c.file);
            }
        }
    }
    let c = &containers(std::slice::from_ref(deployment))[0];
    let annotations = &deployment.value["spec"]["template"]["metadata"]["annotations"];
    let scrape: u16 = annotations["prometheus.io/port"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(scrape, c.port_flag());
    let service = only(&docs, "v1", "Service");
    for p in service.value["spec"]["ports"].as_array().unwrap() {
        assert_eq!(
            c.resolve_port(&p["targetPort"]),
            c.port_flag(),
            "Service targetPort"
        );
    }
}

#[test]
fn the_image_exposes_and_health_checks_the_port_it_serves_on() {
    let df = dockerfile();
    let stage = final_stage(&df);
    let port: u16 = flag_value(&image_args(&df), "--port")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(instruction(stage, "EXPOSE"), port.to_string());
    let urls = loopback_urls(instruction(stage, "HEALTHCHECK"));
    assert_eq!(urls, vec![(port, "/ready".to_string())]);
}

#[test]
fn the_image_is_multi_stage_non_root_and_serves_the_bundle_it_copies() {
    let df = dockerfile();
    assert!(
        df.iter().filter(|(i, _)| i == "FROM").count() >= 2,
        "multi-stage"
    );
    let stage = final_stage(&df);
    let user = instruction(stage, "USER");
    let uid = user.split(':').next().unwrap();
    assert!(
        uid.parse::<u32>().is_ok_and(|u| u != 0),
        "USER {user}: numeric, not root"
    );
    let arg = instruction(stage, "ARG");
    let default = arg.strip_prefix("BUNDLE=").expect("ARG BUNDLE=<default>");
    assert_eq!(default, "public/models/default");
    assert!(common::root().join(default).join("manifest.json").is_file());
    let copy = stage
        .iter()
        .find(|(i, r)| i == "COPY" && r.starts_with("${BUNDLE}"));
    let dest = copy
        .expect("COPY ${BUNDLE} …")
        .1
        .split_whitespace()
        .nth(1)
        .unwrap();
    assert_eq!(flag_value(&image_args(&df), "--bundle").unwrap(), dest);
    // The manifests run that image: their --bundle is where the image put it, their user its.
    let docs = docs();
    for c in containers(&docs) {
        assert_eq!(c.flag("--bundle").unwrap(), dest, "{}", c.file);
    }
    let deployment = only(&docs, "apps", "Deployment");
    let ctx = &deployment.value["spec"]["template"]["spec"]["securityContext"];
    assert_eq!(ctx["runAsUser"].to_string(), uid);
    assert_eq!(ctx["runAsNonRoot"], true);
}

#[test]
fn the_metric_keda_scales_on_is_exported_by_the_server() {
    let docs = docs();
    let scaled = only(&docs, "keda.sh", "ScaledObject");
    let triggers = scaled.value["spec"]["triggers"].as_array().unwrap();
    let prom = triggers.iter().find(|t| t["type"] == "prometheus");
    let query = prom.expect("a prometheus trigger")["metadata"]["query"]
        .as_str()
        .unwrap();
    let names: Vec<&str> = query
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("glassbox_"))
        .collect();
    assert_eq!(
        names,
        ["glassbox_queue_size"],
        "the queue-size gauge: {query}"
    );
    for name in names {
        let typed = format!("# TYPE {name} gauge");
        assert!(facts().metrics.contains(&typed), "/metrics lacks `{typed}`");
    }
}

#[test]
fn knative_admits_exactly_max_concurrent_requests_and_scales_to_zero() {
    let docs = docs();
    let ksvc = only(&docs, "serving.knative.dev", "Service");
    let spec = &ksvc.value["spec"]["template"]["spec"];
    let c = &containers(std::slice::from_ref(ksvc))[0];
    let max: u64 = c
        .flag("--max-concurrent-requests")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(spec["containerConcurrency"].as_u64(), Some(max));
    let annotations = &ksvc.value["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["autoscaling.knative.dev/min-scale"], "0");
}

#[test]
fn selectors_targets_and_the_drain_agree_with_the_deployment() {
    let docs = docs();
    let deployment = &only(&docs, "apps", "Deployment").value;
    let name = &deployment["metadata"]["name"];
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    assert_eq!(&deployment["spec"]["selector"]["matchLabels"], labels);
    assert_eq!(
        &only(&docs, "v1", "Service").value["spec"]["selector"],
        labels
    );
    let pdb = &only(&docs, "policy", "PodDisruptionBudget").value;
    assert_eq!(&pdb["spec"]["selector"]["matchLabels"], labels);
    let hpa = &only(&docs, "autoscaling", "HorizontalPodAutoscaler").value;
    let keda = &only(&docs, "keda.sh", "ScaledObject").value;
    let min_available = pdb["spec"]["minAvailable"].as_u64().unwrap();
    for (target, min) in [
        (&hpa["spec"]["scaleTargetRef"], &hpa["spec"]["minReplicas"]),
        (
            &keda["spec"]["scaleTargetRef"],
            &keda["spec"]["minReplicaCount"],
        ),
    ] {
        assert_eq!(target["kind"], "Deployment");
        assert_eq!(&target["name"], name);
        assert!(
            min.as_u64().unwrap() > min_available,
            "the PDB would block every drain"
        );
    }
    let pod = &deployment["spec"]["template"]["spec"];
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    let sleep = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
        .as_u64()
        .unwrap();
    assert!(
        sleep >= 1 && grace >= sleep + 10,
        "preStop {sleep} s leaves no drain in {grace} s"
    );
}

#[test]
fn every_kustomization_lists_files_that_exist() {
    for d in docs().iter().filter(|d| d.kind() == "Kustomization") {
        let dir = common::root().join(&d.file);
        let dir = dir.parent().unwrap();
        for r in d.value["resources"].as_array().unwrap() {
            let p = dir.join(r.as_str().unwrap());
            assert!(p.exists(), "{}: {} does not exist", d.file, p.display());
        }
    }
}

#[test]
fn hadolint_finds_nothing_in_the_dockerfile() {
    // The real linter, from the venv scripts/setup.sh installs (tests/api/requirements.txt).
    let hadolint = common::root().join(".venv/bin/hadolint");
    assert!(
        hadolint.is_file(),
        "{} is missing: run scripts/setup.sh (pip install -r tests/api/requirements.txt)",
        hadolint.display()
    );
    let out = Command::new(&hadolint)
        .args(["--no-color", "deploy/Dockerfile"])
        .current_dir(common::root())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "hadolint:\n{report}");
}
