//! Writing records whose delivery failed for good to the dead-letter topic.
//!
//! The DLQ record keeps the original key, value and headers (header names as the bytes they
//! were), and adds `fanout.*` headers that say where it came from and why it failed. A record
//! counts as finished only once the DLQ write is acknowledged; a failing write is retried with
//! backoff until it succeeds or the partition is given up (revoke/shutdown), and its offset is
//! never committed before that.
//!
//! A write that keeps failing is loud, never silent: each failure counts in
//! `fanout_dlq_write_failures_total{reason}`, the lane shows as `dlq_write_failing` in
//! `/status` ([`DlqWriter::stalled`]), and one ERROR line is logged when a lane starts failing
//! (one WARN when it recovers), not one per attempt.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics::counter;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use rustc_hash::FxHashMap;
use tokio_util::sync::CancellationToken;

use crate::kafka_headers;
use crate::target::{DeliveryRecord, Failure};

/// Header names added to dead-lettered records.
pub mod headers {
    /// Route name.
    pub const ROUTE: &str = "fanout.route";
    /// Target name (`route/target`).
    pub const TARGET: &str = "fanout.target";
    /// `retryable` or `permanent`.
    pub const ERROR_CLASS: &str = "fanout.error.class";
    /// Failure kind, e.g. `function_error`, `payload_too_large`.
    pub const ERROR_KIND: &str = "fanout.error.kind";
    /// The destination's error code/type.
    pub const ERROR_CODE: &str = "fanout.error.code";
    /// The destination's error message.
    pub const ERROR_MESSAGE: &str = "fanout.error.message";
    /// Why delivery stopped: `permanent_error`, `attempts_exhausted`, `record_too_old`.
    pub const REASON: &str = "fanout.reason";
    /// Attempts made.
    pub const ATTEMPTS: &str = "fanout.attempts";
    /// First attempt, ms since the Unix epoch.
    pub const FIRST_ATTEMPT_MS: &str = "fanout.first_attempt_ms";
    /// Last attempt, ms since the Unix epoch.
    pub const LAST_ATTEMPT_MS: &str = "fanout.last_attempt_ms";
    /// Source topic.
    pub const SOURCE_TOPIC: &str = "fanout.source.topic";
    /// Source partition.
    pub const SOURCE_PARTITION: &str = "fanout.source.partition";
    /// Source offset.
    pub const SOURCE_OFFSET: &str = "fanout.source.offset";
    /// Source record timestamp (ms), when it had one.
    pub const SOURCE_TIMESTAMP_MS: &str = "fanout.source.timestamp_ms";
}

/// Everything the DLQ headers say about a failure.
#[derive(Debug, Clone)]
pub struct DeadLetter<'a> {
    /// Route name.
    pub route: &'a str,
    /// Qualified target name.
    pub target: &'a str,
    /// The last failure.
    pub failure: &'a Failure,
    /// Why delivery stopped.
    pub reason: &'a str,
    /// Attempts made.
    pub attempts: u32,
    /// First attempt time.
    pub first_attempt: SystemTime,
    /// Last attempt time.
    pub last_attempt: SystemTime,
}

/// A lane whose DLQ write keeps failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DlqStall {
    /// Source topic of the record being written.
    pub topic: Arc<str>,
    /// Source partition.
    pub partition: i32,
    /// Source offset of the record being written.
    pub offset: i64,
    /// Qualified target name whose record it is.
    pub target: String,
    /// Failed writes so far.
    pub failures: u32,
    /// Why (`message_too_large`, `authorization`, `unknown_topic`, `timeout`, `other`).
    pub reason: &'static str,
    /// The producer's error.
    pub error: String,
    /// When the first write failed.
    pub since: SystemTime,
}

type StallKey = (Arc<str>, i32, String);

/// Writes dead letters to one topic.
pub struct DlqWriter {
    producer: FutureProducer,
    topic: String,
    stalls: Mutex<FxHashMap<StallKey, DlqStall>>,
}

impl std::fmt::Debug for DlqWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DlqWriter")
            .field("topic", &self.topic)
            .finish()
    }
}

fn millis(t: SystemTime) -> String {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default()
        .to_string()
}

/// The headers of a DLQ record: the original headers, then the `fanout.*` ones.
pub fn dead_letter_headers(record: &DeliveryRecord, dl: &DeadLetter<'_>) -> OwnedHeaders {
    let mut h = OwnedHeaders::new_with_capacity(record.headers.len() + 14);
    for (i, (_, value)) in record.headers.iter().enumerate() {
        h = kafka_headers::insert(h, record.header_name_raw(i), value.as_deref());
    }
    let fields: [(&str, String); 13] = [
        (headers::ROUTE, dl.route.to_owned()),
        (headers::TARGET, dl.target.to_owned()),
        (headers::ERROR_CLASS, dl.failure.class().to_owned()),
        (headers::ERROR_KIND, dl.failure.kind.as_str().to_owned()),
        (headers::ERROR_CODE, dl.failure.code.clone()),
        (headers::ERROR_MESSAGE, dl.failure.message.clone()),
        (headers::REASON, dl.reason.to_owned()),
        (headers::ATTEMPTS, dl.attempts.to_string()),
        (headers::FIRST_ATTEMPT_MS, millis(dl.first_attempt)),
        (headers::LAST_ATTEMPT_MS, millis(dl.last_attempt)),
        (headers::SOURCE_TOPIC, record.topic.to_string()),
        (headers::SOURCE_PARTITION, record.partition.to_string()),
        (headers::SOURCE_OFFSET, record.offset.to_string()),
    ];
    for (key, value) in &fields {
        h = h.insert(Header {
            key,
            value: Some(value.as_bytes()),
        });
    }
    if let Some(ts) = record.timestamp {
        h = h.insert(Header {
            key: headers::SOURCE_TIMESTAMP_MS,
            value: Some(ts.to_string().as_bytes()),
        });
    }
    h
}

/// Where lanes write dead letters ([`DlqWriter`]; tests record them instead).
#[async_trait::async_trait]
pub trait DeadLetters: Send + Sync {
    /// Writes one dead letter until it is acknowledged; false only if `cancel` fired first.
    async fn write(
        &self,
        record: &DeliveryRecord,
        dl: &DeadLetter<'_>,
        cancel: &CancellationToken,
    ) -> bool;
}

#[async_trait::async_trait]
impl DeadLetters for DlqWriter {
    async fn write(
        &self,
        record: &DeliveryRecord,
        dl: &DeadLetter<'_>,
        cancel: &CancellationToken,
    ) -> bool {
        DlqWriter::write(self, record, dl, cancel).await
    }
}

impl DlqWriter {
    /// A writer using `producer` for `topic`.
    pub fn new(producer: FutureProducer, topic: String) -> Self {
        DlqWriter {
            producer,
            topic,
            stalls: Mutex::default(),
        }
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Lanes whose DLQ write is failing right now.
    pub fn stalled(&self) -> Vec<DlqStall> {
        let mut stalls: Vec<DlqStall> = lock(&self.stalls).values().cloned().collect();
        stalls.sort_by(|a, b| {
            (&a.topic, a.partition, &a.target).cmp(&(&b.topic, b.partition, &b.target))
        });
        stalls
    }

    /// Writes one dead letter, retrying with backoff until the broker acknowledges it.
    /// Returns false only if `cancel` fired first (the record then stays uncommitted).
    pub async fn write(
        &self,
        record: &DeliveryRecord,
        dl: &DeadLetter<'_>,
        cancel: &CancellationToken,
    ) -> bool {
        let key: StallKey = (record.topic.clone(), record.partition, dl.target.to_owned());
        let mut delay = Duration::from_millis(100);
        loop {
            let mut out = FutureRecord::<[u8], [u8]>::to(&self.topic)
                .headers(dead_letter_headers(record, dl));
            if let Some(k) = &record.key {
                out = out.key(k.as_slice());
            }
            if let Some(v) = &record.value {
                out = out.payload(v.as_slice());
            }
            let sent = tokio::select! {
                r = self.producer.send(out, Timeout::After(Duration::from_secs(30))) => r,
                () = cancel.cancelled() => {
                    lock(&self.stalls).remove(&key);
                    return false;
                }
            };
            match sent {
                Ok(_) => {
                    if let Some(stall) = lock(&self.stalls).remove(&key) {
                        tracing::warn!(
                            topic = %record.topic, partition = record.partition, offset = record.offset,
                            target = dl.target, dlq = %self.topic, failures = stall.failures,
                            "DLQ write succeeded again; the partition commits again"
                        );
                    }
                    return true;
                }
                Err((err, _)) => self.failed(&key, record, dl, &err),
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = cancel.cancelled() => {
                    lock(&self.stalls).remove(&key);
                    return false;
                }
            }
            delay = (delay * 2).min(Duration::from_secs(30));
        }
    }

    /// Counts a failed write and records the lane's state; logs when the lane starts failing.
    fn failed(
        &self,
        key: &StallKey,
        record: &DeliveryRecord,
        dl: &DeadLetter<'_>,
        err: &KafkaError,
    ) {
        let reason = failure_reason(err);
        counter!("fanout_dlq_write_failures_total", "reason" => reason).increment(1);
        let mut stalls = lock(&self.stalls);
        match stalls.get_mut(key) {
            Some(stall) => {
                stall.failures += 1;
                stall.reason = reason;
                stall.error = err.to_string();
                tracing::debug!(
                    topic = %record.topic, partition = record.partition, offset = record.offset,
                    target = dl.target, failures = stall.failures, error = %err, "DLQ write failed again"
                );
            }
            None => {
                tracing::error!(
                    topic = %record.topic, partition = record.partition, offset = record.offset,
                    target = dl.target, dlq = %self.topic, reason, error = %err,
                    "DLQ write failed; retrying with backoff, and the partition does not commit past this record until it succeeds (see /status)"
                );
                stalls.insert(
                    key.clone(),
                    DlqStall {
                        topic: record.topic.clone(),
                        partition: record.partition,
                        offset: record.offset,
                        target: dl.target.to_owned(),
                        failures: 1,
                        reason,
                        error: err.to_string(),
                        since: SystemTime::now(),
                    },
                );
            }
        }
    }
}

/// The `reason` label of a failed DLQ write.
fn failure_reason(err: &KafkaError) -> &'static str {
    let code = match err {
        KafkaError::MessageProduction(code) => *code,
        _ => return "other",
    };
    match code {
        RDKafkaErrorCode::MessageSizeTooLarge | RDKafkaErrorCode::InvalidMessageSize => {
            "message_too_large"
        }
        RDKafkaErrorCode::TopicAuthorizationFailed
        | RDKafkaErrorCode::ClusterAuthorizationFailed
        | RDKafkaErrorCode::SaslAuthenticationFailed => "authorization",
        RDKafkaErrorCode::UnknownTopicOrPartition | RDKafkaErrorCode::UnknownTopic => {
            "unknown_topic"
        }
        RDKafkaErrorCode::MessageTimedOut | RDKafkaErrorCode::RequestTimedOut => "timeout",
        _ => "other",
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
