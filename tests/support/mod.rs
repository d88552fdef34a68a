//! Test support: a real Kafka-compatible broker (tansu) per test, topics, producing, reading
//! the DLQ, and reading ledger files.
#![allow(dead_code)] // each test binary uses a different part

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;

/// The repository root: the nearest ancestor of the package holding `scripts/install-tools.sh`
/// (this module is also compiled into `crates/eventbridge`'s tests).
pub fn repo() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .find(|dir| dir.join("scripts/install-tools.sh").exists())
        .map(PathBuf::from)
        .unwrap_or(manifest)
}

/// A tansu broker on its own port, killed when dropped.
pub struct Tansu {
    child: Child,
    pub bootstrap: String,
}

/// `path` (relative to the repo), installed with `scripts/install-tools.sh <tool>` if missing.
pub fn installed(path: &str, tool: &str) -> PathBuf {
    let bin = repo().join(path);
    if !bin.exists() {
        let status = Command::new(repo().join("scripts/install-tools.sh"))
            .arg(tool)
            .status()
            .unwrap_or_else(|e| panic!("run scripts/install-tools.sh {tool}: {e}"));
        assert!(status.success(), "installing {tool} failed");
    }
    bin
}

fn tansu_binary() -> PathBuf {
    installed(".tools/bin/tansu", "tansu")
}

/// Runs `engine` in the background until the returned switch is used (or dropped); the handle
/// ends when the engine has drained and committed.
pub fn spawn_engine(
    engine: fanout_engine::Engine,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        engine
            .run(async {
                let _ = rx.await;
            })
            .await
            .expect("engine runs");
    });
    (tx, handle)
}

/// A free TCP port above 19000.
pub fn free_port() -> u16 {
    for _ in 0..200 {
        let port = 19100 + (rand_u16() % 20000);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port found");
}

fn rand_u16() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    ((nanos ^ std::process::id().wrapping_mul(2_654_435_761)) % 65_521) as u16
}

impl Tansu {
    pub fn start() -> Tansu {
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let log_path = std::env::temp_dir().join(format!("fanout-tansu-{port}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(tansu_binary())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", "memory://tansu/"])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start tansu");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "tansu did not start; see {}",
                log_path.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Tansu {
            child,
            bootstrap: format!("127.0.0.1:{port}"),
        }
    }

    /// The broker's process id (the benchmarks read its CPU time).
    #[allow(dead_code)] // used by benches only
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap);
        c
    }

    pub async fn create_topic(&self, name: &str, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = self.client_config().create().unwrap();
        let results = admin
            .create_topics(
                &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
            )
            .await
            .expect("create topic");
        for r in results {
            r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
        }
    }

    pub fn producer(&self) -> FutureProducer {
        self.client_config()
            .set("linger.ms", "5")
            .create()
            .expect("producer")
    }

    /// Produces `records` (partition, key, value, headers) and waits for every ack.
    pub async fn produce(&self, topic: &str, records: &[TestRecord]) {
        let producer = self.producer();
        let mut pending = Vec::with_capacity(records.len());
        for r in records {
            let mut headers = OwnedHeaders::new();
            for (k, v) in &r.headers {
                headers = headers.insert(Header {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
            let mut rec = FutureRecord::<str, str>::to(topic)
                .partition(r.partition)
                .key(&r.key)
                .payload(&r.value)
                .headers(headers);
            if r.key.is_empty() {
                rec.key = None;
            }
            pending.push(
                producer
                    .send_result(rec)
                    .map_err(|(e, _)| e)
                    .expect("enqueue"),
            );
        }
        for p in pending {
            p.await.expect("delivery future").expect("produce ack");
        }
    }

    /// Reads every record of `topic` (all partitions) until `expected` records were read or
    /// the deadline passes.
    pub fn read_topic(
        &self,
        topic: &str,
        partitions: i32,
        expected: usize,
        within: Duration,
    ) -> Vec<ReadRecord> {
        let consumer: BaseConsumer = self
            .client_config()
            .set("group.id", format!("reader-{}", rand_u16()))
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&tpl).unwrap();
        let mut out = Vec::new();
        let deadline = Instant::now() + within;
        while out.len() < expected && Instant::now() < deadline {
            if let Some(Ok(m)) = consumer.poll(Timeout::After(Duration::from_millis(100))) {
                let headers = m
                    .headers()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| {
                                (
                                    h.key.to_owned(),
                                    String::from_utf8_lossy(h.value.unwrap_or_default())
                                        .into_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push(ReadRecord {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                    value: m.payload().map(|v| String::from_utf8_lossy(v).into_owned()),
                    headers,
                });
            }
        }
        out
    }
}

impl Tansu {
    /// The group's committed offset of one partition (None if nothing, or offset 0).
    pub fn committed(&self, group: &str, topic: &str, partition: i32) -> Option<i64> {
        let consumer: BaseConsumer = self
            .client_config()
            .set("group.id", group)
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(topic, partition);
        let got = consumer
            .committed_offsets(tpl, Duration::from_secs(10))
            .unwrap();
        match got.elements()[0].offset() {
            Offset::Offset(o) if o > 0 => Some(o),
            _ => None,
        }
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, Clone)]
pub struct TestRecord {
    pub partition: i32,
    pub key: String,
    pub value: String,
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct ReadRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub value: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl ReadRecord {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A unique name for topics, groups and files of one test.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}-{}", std::process::id(), rand_u16())
}

/// A fresh temporary directory.
pub fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(prefix));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Complete lines of a ledger file (missing file = no lines; a last line still being written,
/// without its newline, is left out).
pub fn ledger(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .map(|l| serde_json::from_str(l).expect("ledger line is JSON"))
        .collect()
}

/// Waits until `cond` holds, polling; panics with `what` after `within`.
pub async fn wait_for(what: &str, within: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Consumer settings that make tansu's group joins fast (see LOCAL-STACK.md).
pub fn fast_group(config: fanout_engine::EngineConfig) -> fanout_engine::EngineConfig {
    config
        .kafka_property("session.timeout.ms", "2000")
        .kafka_property("heartbeat.interval.ms", "500")
}

/// (partition, offset) → how many ledger lines name it.
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
