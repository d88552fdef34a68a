//! The Kafka side of the engine: the consumer context (rebalances, lag), confirmed commits,
//! pausing partitions, and the client configurations.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use rustc_hash::FxHashMap;

use super::{PartitionKey, Partitions, lock};
use crate::config::EngineConfig;
use crate::partition::PartitionState;
use crate::telemetry::{CommitFailed, ConsumerLag};

pub(super) type Revocations = Arc<RevocationLog>;

/// When partitions were revoked: a record fetched before its partition was revoked is not
/// tracked after (it is uncommitted, and whoever owns the partition reads it).
#[derive(Default)]
pub(super) struct RevocationLog {
    /// Revocations so far; a record remembers the value when it was fetched.
    pub epoch: AtomicU64,
    /// The epoch each partition was last revoked in.
    pub revoked_in: Mutex<FxHashMap<PartitionKey, u64>>,
}

/// Consumer context: gives up revoked partitions and commits their watermarks.
pub(super) struct EngineContext {
    pub partitions: Partitions,
    pub revocations: Revocations,
    pub revoke_timeout: Duration,
    pub assigned: Arc<AtomicUsize>,
}

impl ClientContext for EngineContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, t) in &statistics.topics {
            for (partition, p) in &t.partitions {
                // librdkafka reports -1 where it does not know (e.g. unassigned partitions).
                if *partition >= 0 && p.consumer_lag >= 0 {
                    ConsumerLag {
                        topic,
                        partition: *partition,
                        lag: p.consumer_lag,
                    }
                    .emit();
                }
            }
        }
    }
}

impl ConsumerContext for EngineContext {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            tracing::info!(partitions = tpl.count(), "partitions assigned");
        }
        let count = consumer.assignment().map(|a| a.count()).unwrap_or(0);
        self.assigned.store(count, AtomicOrdering::Relaxed);
    }

    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(revoked) = rebalance else {
            return;
        };
        let mut states = Vec::new();
        {
            let mut map = lock(&self.partitions);
            let mut revoked_in = lock(&self.revocations.revoked_in);
            let epoch = self.revocations.epoch.fetch_add(1, AtomicOrdering::SeqCst) + 1;
            for elem in revoked.elements() {
                let key: PartitionKey = (Arc::from(elem.topic()), elem.partition());
                revoked_in.insert(key.clone(), epoch);
                if let Some(state) = map.remove(&key) {
                    states.push((key, state));
                }
            }
        }
        if states.is_empty() {
            return;
        }
        tracing::info!(
            partitions = states.len(),
            "partitions revoked; stopping their lanes"
        );
        for (_, state) in &mut states {
            state.shared.cancel.cancel();
            state.lanes.clear();
        }
        // In-flight attempts may finish within the deadline; then the watermark is committed.
        let deadline = self.revoke_timeout;
        {
            let wait = async {
                let _ = tokio::time::timeout(deadline, async {
                    for (_, state) in &mut states {
                        while state.tasks.join_next().await.is_some() {}
                    }
                })
                .await;
            };
            // Called from inside the consumer's poll, on a runtime worker: hand the worker's
            // other tasks off while we wait.
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                tokio::task::block_in_place(|| handle.block_on(wait));
            }
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), state) in &states {
            if let Some(offset) = state.shared.progress().committable() {
                let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(offset));
            }
        }
        if tpl.count() > 0
            && let Err(e) = consumer.commit(&tpl, CommitMode::Sync)
        {
            CommitFailed {
                error: &e,
                on: "revoke",
            }
            .emit();
        }
    }
}

/// Pauses partitions. Records of theirs already fetched may still arrive, and are fetched again
/// on resume; `handle` skips offsets it already tracks.
pub(super) fn pause<'a>(
    consumer: &StreamConsumer<EngineContext>,
    partitions: impl IntoIterator<Item = ((&'a Arc<str>, i32), &'a mut PartitionState)>,
) {
    let mut tpl = TopicPartitionList::new();
    let mut states = Vec::new();
    for ((topic, partition), state) in partitions {
        tpl.add_partition(topic, partition);
        states.push(state);
    }
    if states.is_empty() {
        return;
    }
    match consumer.pause(&tpl) {
        Ok(()) => {
            for state in states {
                state.paused = true;
            }
            tracing::debug!(partitions = tpl.count(), "partitions paused: buffer full");
        }
        Err(e) => tracing::warn!(error = %e, "pausing partitions failed"),
    }
}

/// librdkafka properties that only a consumer understands.
pub(super) fn is_consumer_only(key: &str) -> bool {
    const KEYS: [&str; 12] = [
        "group.id",
        "group.instance.id",
        "group.protocol",
        "session.timeout.ms",
        "heartbeat.interval.ms",
        "max.poll.interval.ms",
        "auto.offset.reset",
        "partition.assignment.strategy",
        "isolation.level",
        "check.crcs",
        "statistics.interval.ms",
        "allow.auto.create.topics",
    ];
    KEYS.contains(&key) || key.starts_with("fetch.") || key.starts_with("queued.")
}

/// Records offsets the broker confirmed as committed (for partitions still assigned).
pub(super) fn confirmed(partitions: &Partitions, offsets: &TopicPartitionList) {
    let mut map = lock(partitions);
    for elem in offsets.elements() {
        let (Offset::Offset(offset), None) = (elem.offset(), elem.error().err()) else {
            continue;
        };
        // Look up without allocating a key: few partitions, compared by name.
        if let Some((_, state)) = map
            .iter_mut()
            .find(|((t, p), _)| **t == *elem.topic() && *p == elem.partition())
        {
            state.committed = state.committed.max(Some(offset));
        }
    }
}

/// The DLQ producer's configuration: the connection and security settings of `kafka` (not
/// consumer-only ones, which librdkafka would warn about), sized for the largest record the
/// consumer can receive, then `dlq.properties`.
///
/// Sizing rule: a dead letter is the source record plus fanout's headers, and a record can be as
/// large as the consumer's `receive.message.max.bytes` (librdkafka's default 100,000,000). So the
/// producer's `message.max.bytes` defaults to that plus 1 MiB for headers (capped at
/// librdkafka's 1,000,000,000), instead of librdkafka's 1,000,000, which refuses a 1 MiB record.
/// The broker and the DLQ topic must accept it too (Kafka's `message.max.bytes` /
/// `max.message.bytes`): a write they refuse is retried, counted and shown, never dropped.
pub(super) fn dlq_producer_config(config: &EngineConfig) -> ClientConfig {
    let mut producer = ClientConfig::new();
    for (k, v) in config.kafka.iter().filter(|(k, _)| !is_consumer_only(k)) {
        producer.set(k, v);
    }
    let largest_record: u64 = config
        .kafka
        .get("receive.message.max.bytes")
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000_000);
    let max = (largest_record + (1 << 20)).min(1_000_000_000);
    producer.set("message.max.bytes", max.to_string());
    // librdkafka requires the response buffer to hold the largest message it may send.
    producer.set(
        "receive.message.max.bytes",
        (max + 1_000_000).min(2_147_483_647).to_string(),
    );
    for (k, v) in &config.dlq_properties {
        producer.set(k, v);
    }
    producer
}

/// The consumer's configuration: `kafka` plus fanout's defaults where `kafka` does not say.
pub(super) fn consumer_config(config: &EngineConfig) -> ClientConfig {
    let kafka = &config.kafka;
    let mut client = ClientConfig::new();
    for (k, v) in kafka {
        client.set(k, v);
    }
    client
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");
    let defaults = [
        ("auto.offset.reset", "earliest"),
        // librdkafka prefetches up to 64 MB by default; fanout buffers per partition itself.
        ("queued.max.messages.kbytes", "16384"),
        // librdkafka waits 1 s before fetching a partition again once the queue above is full;
        // with a small queue that wait, not fanout, was the limit (`benches/e2e.rs`: 29k
        // records/s at 1 s, 110k at 10 ms).
        ("fetch.queue.backoff.ms", "10"),
        // Consumer lag for the metrics.
        ("statistics.interval.ms", "5000"),
    ];
    for (k, v) in defaults {
        if !kafka.contains_key(k) {
            client.set(k, v);
        }
    }
    client
}
