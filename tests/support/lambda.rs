//! Test support for the Lambda target: the test functions (`tests/lambda-functions`, built
//! once per test binary) served by cargo-lambda's local Invoke API on a port of this test's
//! own. Everything started here is killed when the [`LambdaStack`] is dropped. Also: starting
//! an engine with Lambda targets, and reading what the functions recorded.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use fanout::engine::{Engine, EngineConfig, Target};
use fanout::router::RouteTable;
use fanout_lambda::{LambdaTargets, LambdaTargetsBuilder};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use crate::support::{
    ReadRecord, Tansu, TestRecord, fast_group, free_port, installed, ledger, repo, spawn_engine,
    unique,
};

fn functions_project() -> PathBuf {
    repo().join("tests/lambda-functions")
}

/// Builds the test functions once per test binary; returns the directory of their binaries.
pub fn functions_bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let target = repo().join("target/lambda-functions");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .arg("build")
            .current_dir(functions_project())
            .env("CARGO_TARGET_DIR", &target)
            .stdin(Stdio::null())
            .status()
            .expect("run cargo build for tests/lambda-functions");
        assert!(status.success(), "building tests/lambda-functions failed");
        target.join("debug")
    })
}

/// cargo-lambda, installed by `scripts/install-tools.sh` once per test binary if missing.
fn cargo_lambda() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| installed(".venv/bin/cargo-lambda", "cargo-lambda"))
}

/// The HTTP status of `GET path`, or `None` if nothing answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    let addr = ("127.0.0.1", port);
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = [0u8; 32];
    let n = stream.read(&mut head).ok()?;
    let text = std::str::from_utf8(&head[..n]).ok()?;
    text.split_whitespace().nth(1)?.parse().ok()
}

/// cargo-lambda's Invoke API plus the function processes attached to it.
pub struct LambdaStack {
    emulator: Child,
    functions: Vec<Child>,
    port: u16,
    /// The endpoint URL to give the SDK.
    pub endpoint: String,
    /// Where logs and recorder files go.
    pub dir: PathBuf,
}

impl LambdaStack {
    /// Starts `cargo lambda watch --only-lambda-apis` on a free port and waits until it answers.
    pub fn start() -> LambdaStack {
        let bin_dir = functions_bin_dir();
        assert!(bin_dir.join("recorder").exists());
        let port = free_port();
        let dir = std::env::temp_dir().join(unique("fanout-lambda"));
        std::fs::create_dir_all(&dir).unwrap();
        let log = std::fs::File::create(dir.join("cargo-lambda.log")).unwrap();
        let emulator = Command::new(cargo_lambda())
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "-A",
                "127.0.0.1",
                "-P",
            ])
            .arg(port.to_string())
            .current_dir(functions_project())
            .env("CARGO_TARGET_DIR", repo().join("target/lambda-functions"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            // Its own process group, so that dropping the stack ends whatever it started.
            .process_group(0)
            .spawn()
            .expect("start cargo-lambda");
        let mut stack = LambdaStack {
            emulator,
            functions: Vec::new(),
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        // GET on the invoke route answers 405 once the server is up.
        while http_status(port, "/2015-03-31/functions/_probe/invocations").is_none() {
            if let Ok(Some(status)) = stack.emulator.try_wait() {
                panic!(
                    "cargo-lambda exited ({status}); see {}",
                    stack.dir.display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "cargo-lambda did not start; see {}",
                stack.dir.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        stack
    }

    /// Starts one process of function `name` (a bin of `tests/lambda-functions`) with `env`.
    pub fn function(&mut self, name: &str, env: &[(&str, &str)]) {
        let log = std::fs::File::create(
            self.dir
                .join(format!("{name}-{}.log", self.functions.len())),
        )
        .unwrap();
        let child = Command::new(functions_bin_dir().join(name))
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{}/.rt/{name}", self.port),
            )
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "4096")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start function {name}: {e}"));
        self.functions.push(child);
    }

    /// A recorder file path in this stack's directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

impl Drop for LambdaStack {
    fn drop(&mut self) {
        for f in &mut self.functions {
            let _ = f.kill();
            let _ = f.wait();
        }
        // The emulator leads its own process group: end the group, then reap the leader.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.emulator.id())])
            .status();
        let _ = self.emulator.kill();
        let _ = self.emulator.wait();
    }
}

/// How long the tests wait for deliveries.
pub const WAIT: Duration = Duration::from_secs(90);

pub fn table(routes: Value) -> Arc<RouteTable> {
    let mut builder = RouteTable::builder();
    for r in routes.as_array().unwrap() {
        builder.add_route(&serde_json::from_value(r.clone()).unwrap());
    }
    Arc::new(builder.build().unwrap_or_else(|e| panic!("{e}")))
}

/// Starts an engine whose Lambda targets call `stack`; returns its stop switch and handle.
pub async fn start(
    kafka: &Tansu,
    stack: &LambdaStack,
    dlq: &str,
    routes: Value,
    tune: impl FnOnce(LambdaTargetsBuilder) -> LambdaTargetsBuilder,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let table = table(routes);
    let builder = LambdaTargets::builder()
        .region("us-east-1")
        .credentials("test", "test")
        .endpoint_url(&stack.endpoint)
        .bootstrap_servers(&kafka.bootstrap);
    let mut lambdas = tune(builder).build().await;
    let targets: Vec<Arc<dyn Target>> = table
        .targets()
        .iter()
        .map(|t| lambdas.target(t).unwrap())
        .collect();
    let config = fast_group(EngineConfig::new(&kafka.bootstrap, &unique("g"), dlq));
    let engine = Engine::new(config, table, move |t| {
        targets.get(t.id.0 as usize).cloned()
    })
    .unwrap();
    spawn_engine(engine)
}

pub fn lambda(function: &str, extra: Value) -> Value {
    let mut t = json!({"function": function});
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    json!({ "lambda": t })
}

/// Recorder lines that carry a Kafka record (ESM events).
pub fn records_of(path: &Path) -> Vec<Value> {
    ledger(path)
        .into_iter()
        .filter(|l| l.get("offset").is_some())
        .collect()
}

/// (partition, offset) → how many lines name it.
pub fn counts(lines: &[Value]) -> HashMap<(i64, i64), usize> {
    let mut m = HashMap::new();
    for l in lines {
        *m.entry((
            l["partition"].as_i64().unwrap(),
            l["offset"].as_i64().unwrap(),
        ))
        .or_insert(0) += 1;
    }
    m
}

pub fn offsets_by_partition(lines: &[Value]) -> BTreeMap<i64, Vec<i64>> {
    let mut m = BTreeMap::<i64, Vec<i64>>::new();
    for l in lines {
        m.entry(l["partition"].as_i64().unwrap())
            .or_default()
            .push(l["offset"].as_i64().unwrap());
    }
    m
}

pub fn value_json(line: &Value) -> Value {
    serde_json::from_str(line["value"].as_str().unwrap()).unwrap()
}

pub fn input(n: usize, partitions: i32) -> Vec<TestRecord> {
    (0..n)
        .map(|i| TestRecord {
            partition: (i % partitions as usize) as i32,
            key: if i % 10 == 9 {
                String::new()
            } else {
                format!("k{}", i % 5)
            },
            value: json!({"seq": i, "kind": if i % 3 == 0 { "gold" } else { "plain" }}).to_string(),
            headers: vec![
                ("trace".into(), format!("t{i}")),
                ("lang".into(), "hë".into()),
            ],
        })
        .collect()
}

pub fn header<'a>(d: &'a ReadRecord, name: &str) -> &'a str {
    d.header(name)
        .unwrap_or_else(|| panic!("DLQ record lacks {name}: {d:?}"))
}
