//! A tansu broker per test (the parts of the workspace's `tests/support` this crate needs; that
//! module names the `fanout` facade crate, which this crate cannot depend on).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fanout_engine::EngineConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};

use super::{free_port, repo, unique};

/// A tansu broker on its own port, killed when dropped.
pub struct Tansu {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub bootstrap: String,
}

impl Tansu {
    /// Starts tansu (installing it first if needed) and waits until it listens.
    pub fn start() -> Tansu {
        let bin = repo().join(".tools/bin/tansu");
        if !bin.exists() {
            let status = Command::new(repo().join("scripts/install-tools.sh"))
                .arg("tansu")
                .status()
                .expect("run scripts/install-tools.sh tansu");
            assert!(status.success(), "installing tansu failed");
        }
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        let log_path = std::env::temp_dir().join(format!("fanout-tansu-{port}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(bin)
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

    fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.bootstrap);
        c
    }

    /// Creates a topic with `partitions` partitions.
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

    /// Produces (partition, value) records with the key `k<i>` and waits for every ack.
    pub async fn produce(&self, topic: &str, records: &[(i32, String)]) {
        let producer: FutureProducer = self
            .client_config()
            .set("linger.ms", "5")
            .create()
            .expect("producer");
        let mut pending = Vec::with_capacity(records.len());
        for (i, (partition, value)) in records.iter().enumerate() {
            let key = format!("k{i}");
            let headers = OwnedHeaders::new().insert(Header {
                key: "trace",
                value: Some(format!("t{i}").as_bytes()),
            });
            let rec = FutureRecord::to(topic)
                .partition(*partition)
                .key(&key)
                .payload(value)
                .headers(headers);
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

    /// Reads a topic's records (value, headers) until `expected` were read or `within` passes.
    pub fn read_topic(
        &self,
        topic: &str,
        partitions: i32,
        expected: usize,
        within: Duration,
    ) -> Vec<(String, Vec<(String, String)>)> {
        let consumer: BaseConsumer = self
            .client_config()
            .set("group.id", unique("reader"))
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
                                let v = String::from_utf8_lossy(h.value.unwrap_or_default());
                                (h.key.to_owned(), v.into_owned())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let value = String::from_utf8_lossy(m.payload().unwrap_or_default()).into_owned();
                out.push((value, headers));
            }
        }
        out
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Consumer settings that make tansu's group joins fast (see LOCAL-STACK.md).
pub fn fast_group(config: EngineConfig) -> EngineConfig {
    config
        .kafka_property("session.timeout.ms", "2000")
        .kafka_property("heartbeat.interval.ms", "500")
}
