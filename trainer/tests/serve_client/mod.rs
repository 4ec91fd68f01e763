//! A real `glassbox serve` process on a loopback port and a blocking HTTP client for it,
//! shared by the server's integration tests (`serve.rs`, `serve_ops.rs`). The server's log
//! (stderr, JSON lines) is kept so tests can read what it wrote.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common;

/// The committed default bundle; missing is a failure, not a skip.
pub fn bundle() -> PathBuf {
    let dir = common::root().join("public/models/default");
    assert!(
        dir.join("manifest.json").is_file(),
        "the committed default bundle is missing at {}",
        dir.display()
    );
    dir
}

/// A running `glassbox serve`, killed when dropped (also when a test fails).
pub struct Server {
    child: Child,
    pub base: String,
    agent: ureq::Agent,
    log: Arc<Mutex<String>>,
    /// Sent as `Authorization: Bearer …` on every request when set.
    key: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A response's status, headers we look at, and body.
pub struct Reply {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Copies the server's stderr into `log` line by line until the process closes it.
fn keep_log(child: &mut Child) -> Arc<Mutex<String>> {
    let log = Arc::new(Mutex::new(String::new()));
    let (stderr, sink) = (child.stderr.take().unwrap(), log.clone());
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut log = sink.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    log
}

impl Server {
    /// Starts the server on the default bundle with `extra` flags; waits until `/ready`.
    pub fn start(extra: &[&str]) -> Server {
        Self::launch(&bundle(), extra, &[])
    }

    /// Starts the server on `bundle` with `extra` flags and environment `env` (nothing else
    /// of the caller's `GLASSBOX_API_KEY` or `RUST_LOG`); waits until `/ready`.
    pub fn launch(bundle: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let (b, p) = (bundle.display().to_string(), port.to_string());
        let mut args = vec!["serve", "--bundle", &b, "--port", &p];
        args.extend(extra);
        Self::spawn(&args, port, env)
    }

    /// Runs `glassbox ARGS` (a `serve` command line listening on `port`) and waits until
    /// `/ready`.
    pub fn spawn<S: AsRef<std::ffi::OsStr>>(args: &[S], port: u16, env: &[(&str, &str)]) -> Server {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_glassbox"));
        cmd.current_dir(common::root())
            .args(args)
            .env_remove("GLASSBOX_API_KEY")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("glassbox serve starts");
        let log = keep_log(&mut child);
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(300)))
            .build();
        let mut s = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            agent: ureq::Agent::new_with_config(config),
            log,
            key: None,
        };
        s.wait_ready();
        s
    }

    /// Sends `key` as the bearer token from now on.
    pub fn with_key(mut self, key: &str) -> Server {
        self.key = Some(key.to_string());
        self
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(300);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                thread::sleep(Duration::from_millis(200)); // let the log thread catch up
                panic!(
                    "glassbox serve exited ({status}) before it was ready:\n{}",
                    self.log()
                );
            }
            if let Ok(mut r) = self.agent.get(format!("{}/ready", self.base)).call() {
                if r.status() == 200 {
                    let _ = r.body_mut().read_to_string();
                    return;
                }
            }
            thread::sleep(Duration::from_millis(100));
        }
        panic!("glassbox serve was not ready within 300 s");
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The server's log lines that are JSON objects.
    pub fn log_events(&self) -> Vec<Value> {
        let log = self.log();
        log.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Sends the process a signal by name (`TERM`, `HUP`).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args(["-s", name, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -s {name} failed");
    }

    /// Waits up to `within` for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            thread::sleep(Duration::from_millis(50));
        }
        panic!("the server did not exit within {within:?}:\n{}", self.log());
    }

    fn reply(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        let mut r = r.expect("the server answers");
        Reply {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.body_mut().read_to_string().expect("body is text"),
        }
    }

    fn auth(&self) -> Option<String> {
        self.key.as_ref().map(|k| format!("Bearer {k}"))
    }

    /// A GET with the server's key (if any) or `auth` as the whole `Authorization` header.
    pub fn get_as(&self, path: &str, auth: Option<&str>) -> Reply {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if let Some(a) = auth.map(str::to_string).or_else(|| self.auth()) {
            req = req.header("authorization", a);
        }
        Self::reply(req.call())
    }

    /// A JSON POST with the server's key (if any) or `auth` as the `Authorization` header.
    pub fn post_as(&self, path: &str, body: &str, auth: Option<&str>) -> Reply {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        if let Some(a) = auth.map(str::to_string).or_else(|| self.auth()) {
            req = req.header("authorization", a);
        }
        Self::reply(req.send(body))
    }

    /// A JSON POST with extra request headers.
    pub fn post_with(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Reply {
        let mut req = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::reply(req.send(body.to_string()))
    }

    pub fn get(&self, path: &str) -> Reply {
        self.get_as(path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_as(path, &body.to_string(), None)
    }

    pub fn post_raw(&self, path: &str, body: &str) -> Reply {
        self.post_as(path, body, None)
    }

    /// A POST that must succeed; its JSON body.
    pub fn ok(&self, path: &str, body: &Value) -> Value {
        let r = self.post(path, body);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.json()
    }

    /// The value of one metric series (`name{labels}` as Prometheus prints it), 0 if absent.
    pub fn metric(&self, series: &str) -> f64 {
        self.metric_opt(series).unwrap_or(0.0)
    }

    /// The value of one metric series, `None` when `/metrics` does not list it.
    pub fn metric_opt(&self, series: &str) -> Option<f64> {
        let text = self.get("/metrics").body;
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .map(|v| v.trim().parse().unwrap())
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}
