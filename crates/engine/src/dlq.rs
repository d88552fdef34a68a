//! Writing records whose delivery failed for good to the dead-letter topic.
//!
//! The DLQ record keeps the original key, value and headers, and adds `fanout.*` headers that
//! say where it came from and why it failed. A record counts as finished only once the DLQ
//! write is acknowledged; a failing write is retried with backoff until it succeeds or the
//! partition is given up (revoke/shutdown), and its offset is never committed before that.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::util::Timeout;
use tokio_util::sync::CancellationToken;

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

/// Writes dead letters to one topic.
pub struct DlqWriter {
    producer: FutureProducer,
    topic: String,
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
    for (name, value) in &record.headers {
        h = h.insert(Header {
            key: name,
            value: value.as_deref(),
        });
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

impl DlqWriter {
    /// A writer using `producer` for `topic`.
    pub fn new(producer: FutureProducer, topic: String) -> Self {
        DlqWriter { producer, topic }
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Writes one dead letter, retrying with backoff until the broker acknowledges it.
    /// Returns false only if `cancel` fired first (the record then stays uncommitted).
    pub async fn write(
        &self,
        record: &DeliveryRecord,
        dl: &DeadLetter<'_>,
        cancel: &CancellationToken,
    ) -> bool {
        let mut delay = Duration::from_millis(100);
        let mut attempt = 1u32;
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
                () = cancel.cancelled() => return false,
            };
            match sent {
                Ok(_) => return true,
                Err((err, _)) => {
                    tracing::error!(
                        topic = %record.topic, partition = record.partition, offset = record.offset,
                        target = dl.target, attempt, dlq = %self.topic, error = %err,
                        "DLQ write failed; retrying (the offset is not committed meanwhile)"
                    );
                }
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = cancel.cancelled() => return false,
            }
            delay = (delay * 2).min(Duration::from_secs(30));
            attempt += 1;
        }
    }
}
