//! Running the `fanout` binary (`fanout run`) in tests: its configuration, the process, and
//! its HTTP endpoints (`/metrics`, `/status`). Only for test binaries of the root package
//! (`CARGO_BIN_EXE_fanout`).
#![allow(dead_code)] // each test binary uses a different part

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Writes `fanout.yaml` (fast group joins, a 100 ms commit interval, metrics on `port`) and
/// `routes/routes.json` into `dir`; `dlq_extra` is YAML appended under `dlq:` (e.g. its
/// `properties`), `engine_extra` under `engine:`. Returns the config path.
pub struct Setup<'a> {
    pub dir: &'a Path,
    pub bootstrap: &'a str,
    pub group: &'a str,
    pub dlq: &'a str,
    pub port: u16,
    pub routes: Value,
    pub dlq_extra: &'a str,
    pub engine_extra: &'a str,
}

impl Setup<'_> {
    pub fn write(&self) -> PathBuf {
        let routes = self.dir.join("routes");
        std::fs::create_dir_all(&routes).unwrap();
        std::fs::write(
            routes.join("routes.json"),
            serde_json::json!({"routes": self.routes}).to_string(),
        )
        .unwrap();
        let config = self.dir.join("fanout.yaml");
        std::fs::write(
            &config,
            format!(
                "kafka:\n  bootstrap_servers: {}\n  group_id: {}\n  properties:\n    session.timeout.ms: 2000\n    heartbeat.interval.ms: 500\n\
                 dlq:\n  topic: {}\n{}\
                 routes: routes\n\
                 metrics:\n  address: 127.0.0.1:{}\n\
                 engine:\n  commit_interval: 100ms\n{}",
                self.bootstrap,
                self.group,
                self.dlq,
                self.dlq_extra,
                self.port,
                self.engine_extra
            ),
        )
        .unwrap();
        config
    }
}

/// A running `fanout run`, its stdout and stderr appended to `log`; SIGKILLed if dropped
/// while running.
pub struct Fanout {
    child: Child,
    pub log: PathBuf,
    pub port: u16,
}

impl Fanout {
    pub fn start(config: &Path, log: &Path, port: u16) -> Fanout {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_fanout"))
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("start fanout run");
        Fanout {
            child,
            log: log.to_owned(),
            port,
        }
    }

    /// Still running (not exited)?
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Panics (with the log) unless the process is still running.
    pub fn assert_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("fanout exited ({status}); log:\n{}", self.log_tail());
        }
    }

    /// Everything it logged so far.
    pub fn log_text(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned()
    }

    fn log_tail(&self) -> String {
        let text = self.log_text();
        let start = text.len().saturating_sub(8_000);
        text[text.floor_char_boundary(start)..].to_owned()
    }

    /// SIGTERM, then its exit code.
    pub fn stop(mut self) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap().code()
    }

    /// Waits until its HTTP endpoint answers.
    pub async fn wait_http(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            self.assert_running();
            assert!(Instant::now() < deadline, "fanout never served HTTP");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `/status` as JSON.
    pub fn status(&self) -> Value {
        let (code, body) = http_get(self.port, "/status");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("/status is not JSON ({e}): {body}"))
    }

    /// `/metrics` text.
    pub fn metrics(&self) -> String {
        http_get(self.port, "/metrics").1
    }
}

impl Drop for Fanout {
    fn drop(&mut self) {
        if self.running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// GET `path` on 127.0.0.1:`port`: (status, body).
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The sum of the metric lines whose name and labels contain all of `parts`.
pub fn metric(text: &str, parts: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#') && parts.iter().all(|p| l.contains(p)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
