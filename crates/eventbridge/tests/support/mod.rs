//! Test support: a moto server (EventBridge + SQS) per test, buses whose rules forward to SQS
//! queues, and reading what EventBridge delivered; a tansu broker for end-to-end tests.
#![allow(dead_code)] // each test binary uses a different part

/// The root package's Kafka test support (tansu per test, producing, reading topics).
#[path = "../../../../tests/support/mod.rs"]
pub mod kafka;
pub mod throttle;

pub use kafka::{free_port, repo, unique};

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_eventbridge::config::Credentials;
use fanout_eventbridge::EventBridgeTargets;
use fanout_router::RouteTable;
use serde_json::Value;

/// A moto server on its own port, killed when dropped.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// SDK configuration pointing at this server (explicit: no process environment).
    pub config: SdkConfig,
}

fn moto_server() -> PathBuf {
    kafka::installed(".venv/bin/moto_server", "moto")
}

impl Moto {
    /// Starts moto and waits until it answers.
    pub async fn start() -> Moto {
        let server = moto_server();
        let port = free_port();
        let log_path = std::env::temp_dir().join(format!("fanout-moto-{port}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(repo().join(".venv/bin/python"))
            .arg(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let url = format!("http://127.0.0.1:{port}");
        let config = sdk_config(&url).await;
        let moto = Moto { child, url, config };
        let sqs = moto.sqs();
        let deadline = Instant::now() + Duration::from_secs(30);
        while sqs.list_queues().send().await.is_err() {
            assert!(
                Instant::now() < deadline,
                "moto did not start; see {}",
                log_path.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        moto
    }

    /// An EventBridge client for this server.
    pub fn events(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::new(&self.config)
    }

    /// An SQS client for this server.
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.config)
    }

    /// Target factory for this server.
    pub fn targets(&self) -> EventBridgeTargets {
        EventBridgeTargets::from_sdk_config(self.config.clone())
    }

    /// Creates a bus (unless `default`) and returns its ARN.
    pub async fn create_bus(&self, bus: &str) -> String {
        if bus == "default" {
            return "arn:aws:events:us-east-1:123456789012:event-bus/default".into();
        }
        let out = self
            .events()
            .create_event_bus()
            .name(bus)
            .send()
            .await
            .expect("create bus");
        out.event_bus_arn().unwrap().to_owned()
    }

    /// A new queue receiving, through a rule of `bus` with `pattern`, every matching event.
    /// Returns the queue URL.
    pub async fn rule_to_queue(&self, bus: &str, pattern: &Value) -> String {
        let sqs = self.sqs();
        let name = unique("q");
        let queue = sqs.create_queue().queue_name(&name).send().await.unwrap();
        let queue_url = queue.queue_url().unwrap().to_owned();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let arn = attrs
            .attributes()
            .unwrap()
            .get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .unwrap()
            .clone();
        let events = self.events();
        let rule = unique("rule");
        events
            .put_rule()
            .name(&rule)
            .event_bus_name(bus)
            .event_pattern(pattern.to_string())
            .send()
            .await
            .expect("put rule");
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("sqs")
            .arn(arn)
            .build()
            .unwrap();
        let out = events
            .put_targets()
            .rule(&rule)
            .event_bus_name(bus)
            .targets(target)
            .send()
            .await
            .expect("put targets");
        assert_eq!(out.failed_entry_count(), 0);
        queue_url
    }

    /// Receives (and deletes) events from a queue until `expected` arrived and the queue then
    /// stays empty for a moment, or `within` passes. Returns the parsed events.
    pub async fn receive(&self, queue_url: &str, expected: usize, within: Duration) -> Vec<Value> {
        let sqs = self.sqs();
        let deadline = Instant::now() + within;
        let mut events = Vec::new();
        let mut empty_polls = 0;
        while Instant::now() < deadline && (events.len() < expected || empty_polls < 3) {
            let out = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .unwrap();
            let messages = out.messages();
            if messages.is_empty() {
                empty_polls += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            empty_polls = 0;
            for m in messages {
                events.push(serde_json::from_str(m.body().unwrap()).expect("event is JSON"));
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
        events
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SDK configuration for a local endpoint with test credentials.
pub async fn sdk_config(url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(url)
        .load()
        .await
}

/// A route table from JSON route definitions.
pub fn table(routes: Value) -> Arc<RouteTable> {
    let mut builder = RouteTable::builder();
    for r in routes.as_array().unwrap() {
        builder.add_route(&serde_json::from_value(r.clone()).unwrap());
    }
    Arc::new(builder.build().unwrap_or_else(|e| panic!("{e}")))
}
