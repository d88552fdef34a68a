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
use rdkafka::message::{Header, Message, OwnedHeaders};
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

    /// Produces records given as bytes (any key, value and header names; `None` value = a
    /// tombstone) and waits for every ack; returns each record's (partition, offset), in order.
    pub async fn produce_bytes(&self, topic: &str, records: &[RawRecord]) -> Vec<(i32, i64)> {
        let producer: FutureProducer = self
            .client_config()
            .set("linger.ms", "5")
            .set("message.max.bytes", "100000000")
            .create()
            .expect("producer");
        let mut pending = Vec::with_capacity(records.len());
        for r in records {
            let mut headers = OwnedHeaders::new();
            for (name, value) in &r.headers {
                headers = fanout_engine::kafka_headers::insert(headers, name, value.as_deref());
            }
            let mut rec = FutureRecord::<[u8], [u8]>::to(topic)
                .partition(r.partition)
                .headers(headers);
            rec.key = r.key.as_deref();
            rec.payload = r.value.as_deref();
            pending.push(
                producer
                    .send_result(rec)
                    .map_err(|(e, _)| e)
                    .expect("enqueue"),
            );
        }
        let mut offsets = Vec::with_capacity(pending.len());
        for p in pending {
            let done = p.await.expect("delivery future").expect("produce ack");
            offsets.push((done.partition, done.offset));
        }
        offsets
    }

    /// Produces records with the Python `kafka-python` client (installed into `.venv` by
    /// `scripts/install-tools.sh kafka-python` if missing), which writes what rdkafka's safe
    /// API cannot: header names that are not UTF-8. Header values must not be `None`.
    /// Returns each record's (partition, offset), in order.
    pub fn produce_with_python(&self, topic: &str, records: &[RawRecord]) -> Vec<(i32, i64)> {
        use std::io::Write;
        let python = python_with_kafka();
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let mut input = String::new();
        for r in records {
            let headers: Vec<Value> = r
                .headers
                .iter()
                .map(|(k, v)| {
                    let v = v
                        .as_deref()
                        .expect("kafka-python cannot write a null header value");
                    serde_json::json!([hex(k), hex(v)])
                })
                .collect();
            let line = serde_json::json!({
                "partition": r.partition,
                "key": r.key.as_deref().map(hex),
                "value": r.value.as_deref().map(hex),
                "headers": headers,
            });
            input.push_str(&line.to_string());
            input.push('\n');
        }
        let mut child = Command::new(python)
            .arg(repo().join("tests/fixtures/kafka/produce_raw.py"))
            .args([&self.bootstrap, topic])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start produce_raw.py");
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let out = child.wait_with_output().expect("produce_raw.py runs");
        writer
            .join()
            .unwrap()
            .expect("write records to produce_raw.py");
        assert!(
            out.status.success(),
            "produce_raw.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let offsets: Vec<(i32, i64)> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let (p, o) = l.split_once(' ').expect("PARTITION OFFSET");
                (p.parse().unwrap(), o.parse().unwrap())
            })
            .collect();
        assert_eq!(offsets.len(), records.len(), "one ack per record");
        offsets
    }

    /// Reads every record of `topic` (all partitions) until the topic is quiet: at least
    /// `expected` records were read and none came for [`QUIET`], or the deadline passed. It
    /// never stops *at* the expected number, so a test that asserts the count sees any extra
    /// record written later. Header names are read as bytes (`kafka_headers`), so a record with
    /// a name that is not UTF-8 is read, not a panic.
    pub fn read_topic(
        &self,
        topic: &str,
        partitions: i32,
        expected: usize,
        within: Duration,
    ) -> Vec<ReadRecord> {
        self.read_topic_raw(topic, partitions, expected, within)
            .iter()
            .map(RawReadRecord::lossy)
            .collect()
    }

    /// [`Tansu::read_topic`], every key, value and header as the bytes it is.
    pub fn read_topic_raw(
        &self,
        topic: &str,
        partitions: i32,
        expected: usize,
        within: Duration,
    ) -> Vec<RawReadRecord> {
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
        let mut last = Instant::now();
        loop {
            let now = Instant::now();
            if now >= deadline || (out.len() >= expected && now - last >= QUIET) {
                break;
            }
            match consumer.poll(Timeout::After(Duration::from_millis(100))) {
                Some(Ok(m)) => {
                    last = Instant::now();
                    out.push(RawReadRecord::from_message(&m));
                }
                Some(Err(e)) => panic!("reading {topic}: {e}"),
                None => {}
            }
        }
        out
    }
}

/// How long a topic must stay without a new record before [`Tansu::read_topic`] believes it
/// has everything.
pub const QUIET: Duration = Duration::from_secs(3);

/// The `.venv` Python with `kafka-python`, installed on first use.
pub fn python_with_kafka() -> PathBuf {
    let python = repo().join(".venv/bin/python");
    let ready = || {
        Command::new(&python)
            .args(["-c", "import kafka"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ready() {
        let status = Command::new(repo().join("scripts/install-tools.sh"))
            .arg("kafka-python")
            .status()
            .expect("run scripts/install-tools.sh kafka-python");
        assert!(
            status.success() && ready(),
            "installing kafka-python failed"
        );
    }
    python
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

/// A record to produce as bytes ([`Tansu::produce_bytes`], [`Tansu::produce_with_python`]).
#[derive(Debug, Clone, Default)]
pub struct RawRecord {
    pub partition: i32,
    pub key: Option<Vec<u8>>,
    /// `None`: a tombstone.
    pub value: Option<Vec<u8>>,
    /// Names and values as bytes, in order.
    pub headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// A record read back from a topic, its key, value and headers decoded lossily.
#[derive(Debug, Clone)]
pub struct ReadRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<String>,
    pub value: Option<String>,
    /// A missing value reads as "".
    pub headers: Vec<(String, String)>,
}

/// A record read back from a topic, as the bytes it is.
#[derive(Debug, Clone)]
pub struct RawReadRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    /// Names and values, in record order.
    pub headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl RawReadRecord {
    /// Copies a consumed message, header names as bytes (rdkafka's own header iterator panics
    /// on a name that is not UTF-8).
    pub fn from_message(m: &rdkafka::message::BorrowedMessage<'_>) -> RawReadRecord {
        RawReadRecord {
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            value: m.payload().map(<[u8]>::to_vec),
            headers: fanout_engine::kafka_headers::read(m)
                .into_iter()
                .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
                .collect(),
        }
    }

    /// The record decoded lossily.
    pub fn lossy(&self) -> ReadRecord {
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        ReadRecord {
            partition: self.partition,
            offset: self.offset,
            key: self.key.as_deref().map(text),
            value: self.value.as_deref().map(text),
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (text(k), text(v.as_deref().unwrap_or_default())))
                .collect(),
        }
    }
}

impl ReadRecord {
    /// Copies a consumed message, decoded lossily (header names read as bytes first).
    pub fn from_message(m: &rdkafka::message::BorrowedMessage<'_>) -> ReadRecord {
        RawReadRecord::from_message(m).lossy()
    }

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
