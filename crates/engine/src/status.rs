//! What the engine shows while it runs: counters per target, whether each target is up, lanes
//! whose DLQ write is failing, and each partition's confirmed commit ([`EngineStats::status`]
//! is the `/status` document of `fanout run`).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::dlq::DlqWriter;
use crate::health::TargetHealth;
use crate::lane::TargetStats;

/// One assigned partition, as of the last commit tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionStatus {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The last offset the broker confirmed as committed.
    pub committed: Option<i64>,
    /// The offset fanout could commit now (every record below it finished).
    pub committable: Option<i64>,
    /// Records fetched and not finished.
    pub in_flight: usize,
    /// Paused because its buffer is full.
    pub paused: bool,
}

/// Per-target counters and the engine's state, readable while it runs.
#[derive(Debug, Clone)]
pub struct EngineStats {
    pub(crate) targets: Arc<Vec<(Arc<TargetStats>, Arc<TargetHealth>)>>,
    pub(crate) assigned: Arc<AtomicUsize>,
    pub(crate) consuming: Arc<AtomicBool>,
    pub(crate) buffered: Arc<AtomicUsize>,
    pub(crate) dlq: Arc<OnceLock<Arc<DlqWriter>>>,
    pub(crate) partitions: Arc<Mutex<Vec<PartitionStatus>>>,
}

impl EngineStats {
    /// Estimated bytes of the records buffered or in flight, across partitions (what
    /// `max_buffered_bytes_total` caps).
    pub fn buffered_bytes(&self) -> usize {
        self.buffered.load(Ordering::Relaxed)
    }

    /// Partitions currently assigned to this member.
    pub fn assigned_partitions(&self) -> usize {
        self.assigned.load(Ordering::Relaxed)
    }

    /// Is the consumer loop running (subscribed and not shutting down)?
    pub fn consuming(&self) -> bool {
        self.consuming.load(Ordering::Relaxed)
    }

    /// (qualified target name, counters) for every target.
    pub fn targets(&self) -> impl Iterator<Item = (&str, &TargetStats)> {
        self.targets.iter().map(|(s, h)| (h.name(), &**s))
    }

    /// Every target's health.
    pub fn health(&self) -> impl Iterator<Item = &TargetHealth> {
        self.targets.iter().map(|(_, h)| &**h)
    }

    /// Partitions as of the last commit tick.
    pub fn partitions(&self) -> Vec<PartitionStatus> {
        self.partitions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The `/status` document:
    ///
    /// ```json
    /// {"consuming": true, "assigned_partitions": 6, "buffered_bytes": 123,
    ///  "targets": [{"name": "route/target", "up": false, "down_since_ms": 1700000000000,
    ///               "last_error": {"kind": "not_found", "code": "…", "message": "…", "at_ms": …},
    ///               "delivered": 10, "dead_lettered": 0, "retried": 0}],
    ///  "dlq": {"topic": "fanout-dlq", "failing_lanes": [{"topic": "orders", "partition": 0,
    ///          "target": "route/target", "offset": 42, "state": "dlq_write_failing",
    ///          "reason": "message_too_large", "error": "…", "failures": 3, "since_ms": …}]},
    ///  "partitions": [{"topic": "orders", "partition": 0, "committed": 40, "committable": 42,
    ///                  "in_flight": 2, "paused": false}]}
    /// ```
    pub fn status(&self) -> Value {
        let targets: Vec<Value> = self
            .targets
            .iter()
            .map(|(stats, health)| {
                json!({
                    "name": health.name(),
                    "up": health.is_up(),
                    "down_since_ms": health.down_since().map(millis),
                    "last_error": health.last_error().map(|e| json!({
                        "kind": e.failure.kind.as_str(),
                        "code": e.failure.code,
                        "message": e.failure.message,
                        "at_ms": millis(e.at),
                    })),
                    "delivered": stats.delivered.load(Ordering::Relaxed),
                    "dead_lettered": stats.dead_lettered.load(Ordering::Relaxed),
                    "retried": stats.retried.load(Ordering::Relaxed),
                })
            })
            .collect();
        let dlq = self.dlq.get().map(|dlq| {
            let lanes: Vec<Value> = dlq
                .stalled()
                .into_iter()
                .map(|s| {
                    json!({
                        "topic": &*s.topic,
                        "partition": s.partition,
                        "target": s.target,
                        "offset": s.offset,
                        "state": "dlq_write_failing",
                        "reason": s.reason,
                        "error": s.error,
                        "failures": s.failures,
                        "since_ms": millis(s.since),
                    })
                })
                .collect();
            json!({"topic": dlq.topic(), "failing_lanes": lanes})
        });
        let partitions: Vec<Value> = self
            .partitions()
            .into_iter()
            .map(|p| {
                json!({
                    "topic": p.topic,
                    "partition": p.partition,
                    "committed": p.committed,
                    "committable": p.committable,
                    "in_flight": p.in_flight,
                    "paused": p.paused,
                })
            })
            .collect();
        json!({
            "consuming": self.consuming(),
            "assigned_partitions": self.assigned_partitions(),
            "buffered_bytes": self.buffered_bytes(),
            "targets": targets,
            "dlq": dlq,
            "partitions": partitions,
        })
    }
}

fn millis(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}
