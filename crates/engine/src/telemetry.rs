//! Named telemetry events: each logs (at DEBUG for per-record events) and counts, through the
//! `metrics` facade, so that the embedding application picks the exporter (the `fanout` binary
//! serves Prometheus text). Labels are low-cardinality: route, target, error class/kind,
//! topic and partition.
//!
//! Metric names:
//! - `fanout_records_consumed_total{topic}`
//! - `fanout_records_matched_total{route}`
//! - `fanout_deliveries_total{target, outcome}` (`delivered` | `dead_lettered`)
//! - `fanout_retries_total{target}`: records sent again after their attempt failed (retries
//!   after backoff, bisected halves, probes of a down target; not records that were not attempted)
//! - `fanout_dead_lettered_total{target, error_class, error_kind}`
//! - `fanout_batch_records{target}` (histogram), `fanout_attempt_duration_seconds{target}`
//!   (histogram, one observation per delivery attempt)
//! - `fanout_in_flight_records{topic, partition}`: consumed, not yet finished
//! - `fanout_committed_offset{topic, partition}`
//! - `fanout_consumer_lag{topic, partition}`: from librdkafka's statistics
//! - `fanout_commit_failures_total{on}`: offset commits the broker did not confirm (`interval`,
//!   `revoke`, `shutdown`)
//! - `fanout_target_up{target}`: 1 while the target answers, 0 while it is down
//!   ([`crate::health`])
//! - `fanout_dlq_write_failures_total{reason}`: failed DLQ writes ([`crate::dlq`])

use std::time::Duration;

use fanout_router::{RouteId, RouteTable};
use metrics::{Counter, Histogram, counter, gauge, histogram};
use rustc_hash::FxHashMap;

use crate::target::Failure;

/// Hot-path counters of one target, registered once.
#[derive(Clone)]
pub(crate) struct TargetMetrics {
    delivered: Counter,
    retried: Counter,
    batch_records: Histogram,
    attempt_duration: Histogram,
}

impl TargetMetrics {
    pub fn new(target: &str) -> Self {
        TargetMetrics {
            delivered: counter!("fanout_deliveries_total", "target" => target.to_owned(), "outcome" => "delivered"),
            retried: counter!("fanout_retries_total", "target" => target.to_owned()),
            batch_records: histogram!("fanout_batch_records", "target" => target.to_owned()),
            attempt_duration: histogram!("fanout_attempt_duration_seconds", "target" => target.to_owned()),
        }
    }

    /// One delivery attempt of a batch finished, whatever its result.
    pub fn attempt_finished(&self, records: usize, took: Duration) {
        self.batch_records.record(records as f64);
        self.attempt_duration.record(took.as_secs_f64());
    }

    /// Records whose last attempt failed were sent again (a retry after backoff, a bisected
    /// half, a probe of a down target).
    pub fn retried(&self, count: usize) {
        self.retried.increment(count as u64);
    }

    /// Records were delivered.
    pub fn delivered(&self, count: usize) {
        self.delivered.increment(count as u64);
    }
}

/// Hot-path counters of the consumer loop, registered once.
pub(crate) struct ConsumerMetrics {
    consumed: FxHashMap<String, Counter>,
    matched: Vec<Counter>,
}

impl ConsumerMetrics {
    pub fn new(table: &RouteTable) -> Self {
        ConsumerMetrics {
            consumed: table
                .topics()
                .into_iter()
                .map(|t| {
                    (
                        t.to_owned(),
                        counter!("fanout_records_consumed_total", "topic" => t.to_owned()),
                    )
                })
                .collect(),
            matched: table
                .routes()
                .iter()
                .map(|r| counter!("fanout_records_matched_total", "route" => r.name.clone()))
                .collect(),
        }
    }

    /// A record was read from `topic`.
    pub fn consumed(&self, topic: &str) {
        if let Some(c) = self.consumed.get(topic) {
            c.increment(1);
        }
    }

    /// A record matched `route`.
    pub fn matched(&self, route: RouteId) {
        if let Some(c) = self.matched.get(route.0 as usize) {
            c.increment(1);
        }
    }
}

/// Records failed and will be sent again.
pub(crate) struct DeliveryRetried<'a> {
    pub target: &'a str,
    pub partition: i32,
    pub attempt: u32,
    pub records: usize,
    pub failure: &'a Failure,
}

impl DeliveryRetried<'_> {
    pub fn emit(&self) {
        tracing::warn!(
            target = self.target, partition = self.partition, attempt = self.attempt,
            records = self.records, error = %self.failure, "delivery failed; retrying"
        );
    }
}

/// A record was written to the DLQ.
pub(crate) struct RecordDeadLettered<'a> {
    pub target: &'a str,
    pub topic: &'a str,
    pub partition: i32,
    pub offset: i64,
    pub attempt: u32,
    pub reason: &'a str,
    pub failure: &'a Failure,
}

impl RecordDeadLettered<'_> {
    pub fn emit(&self) {
        tracing::warn!(
            topic = self.topic, partition = self.partition, offset = self.offset,
            target = self.target, attempt = self.attempt, reason = self.reason,
            error = %self.failure, "record dead-lettered"
        );
        counter!(
            "fanout_dead_lettered_total",
            "target" => self.target.to_owned(),
            "error_class" => self.failure.class(),
            "error_kind" => self.failure.kind.as_str()
        )
        .increment(1);
        counter!("fanout_deliveries_total", "target" => self.target.to_owned(), "outcome" => "dead_lettered")
            .increment(1);
    }
}

/// A partition's progress after a commit tick.
pub(crate) struct PartitionProgressed<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub in_flight: usize,
    pub committed: Option<i64>,
}

impl PartitionProgressed<'_> {
    pub fn emit(&self) {
        let labels = [
            ("topic", self.topic.to_owned()),
            ("partition", self.partition.to_string()),
        ];
        gauge!("fanout_in_flight_records", &labels).set(self.in_flight as f64);
        if let Some(offset) = self.committed {
            gauge!("fanout_committed_offset", &labels).set(offset as f64);
        }
    }
}

/// Estimated bytes buffered or in flight across partitions (capped by
/// `max_buffered_bytes_total`).
pub(crate) fn buffered_bytes(bytes: usize) {
    gauge!("fanout_buffered_bytes").set(bytes as f64);
}

/// Consumer lag of a partition, from librdkafka's statistics.
pub(crate) struct ConsumerLag<'a> {
    pub topic: &'a str,
    pub partition: i32,
    pub lag: i64,
}

impl ConsumerLag<'_> {
    pub fn emit(&self) {
        gauge!("fanout_consumer_lag", "topic" => self.topic.to_owned(), "partition" => self.partition.to_string())
            .set(self.lag as f64);
    }
}

/// An offset commit failed (or was not confirmed); the next tick commits again.
pub(crate) struct CommitFailed<'a> {
    pub error: &'a rdkafka::error::KafkaError,
    /// `interval`, `revoke` or `shutdown`.
    pub on: &'static str,
}

impl CommitFailed<'_> {
    pub fn emit(&self) {
        tracing::warn!(
            error = %self.error, on = self.on,
            "offset commit failed; the offsets are committed again on the next tick (after a revoke, the new owner re-delivers from the last confirmed commit)"
        );
        counter!("fanout_commit_failures_total", "on" => self.on).increment(1);
    }
}
