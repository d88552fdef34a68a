//! The `Target` abstraction: what a delivery destination implements, and the one place where
//! failures are classified as retryable or permanent.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use fanout_router::{RecordParts, RecordView};
use rdkafka::message::{BorrowedMessage, Headers, Message, Timestamp};

use crate::kafka_headers;

/// A Kafka record as delivered to targets; shared (`Arc`) by every target it goes to.
#[derive(Debug, Clone)]
pub struct DeliveryRecord {
    /// Source topic.
    pub topic: Arc<str>,
    /// Source partition.
    pub partition: i32,
    /// Source offset.
    pub offset: i64,
    /// Record timestamp, ms since the Unix epoch.
    pub timestamp: Option<i64>,
    /// Whether the timestamp is the producer's (`CreateTime`) or the broker's (`LogAppendTime`).
    pub timestamp_type: TimestampType,
    /// Key bytes.
    pub key: Option<Vec<u8>>,
    /// Value bytes (`None` for a tombstone).
    pub value: Option<Vec<u8>>,
    /// Headers in record order; a name that is not valid UTF-8 is decoded lossily here (as
    /// the record view shows it) and kept as bytes in `header_name_bytes`.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// The original bytes of header names that are not valid UTF-8, by index in `headers`
    /// (empty for almost every record). The DLQ writes these bytes back.
    pub header_name_bytes: Vec<(usize, Vec<u8>)>,
}

/// Kafka timestamp type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampType {
    /// Set by the producer.
    CreateTime,
    /// Set by the broker.
    LogAppendTime,
    /// Not available.
    NotAvailable,
}

impl DeliveryRecord {
    /// Copies a consumed message out of librdkafka's buffers (headers included, which
    /// librdkafka parses on this call); `topic` is the message's topic, shared between records.
    /// Never panics, whatever the bytes: header names that are not UTF-8 are decoded lossily,
    /// their bytes kept.
    pub fn from_message(msg: &BorrowedMessage<'_>, topic: Arc<str>) -> DeliveryRecord {
        let (timestamp, timestamp_type) = match msg.timestamp() {
            Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
            Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
            Timestamp::NotAvailable => (None, TimestampType::NotAvailable),
        };
        let raw = msg.headers();
        let count = raw.map_or(0, Headers::count);
        let mut headers = Vec::with_capacity(count);
        let mut header_name_bytes = Vec::new();
        let all = (0..count).filter_map(|i| raw.and_then(|h| kafka_headers::get(h, i)));
        for (i, (name, value)) in all.enumerate() {
            let name = match std::str::from_utf8(name) {
                Ok(name) => name.to_owned(),
                Err(_) => {
                    header_name_bytes.push((i, name.to_vec()));
                    String::from_utf8_lossy(name).into_owned()
                }
            };
            headers.push((name, value.map(<[u8]>::to_vec)));
        }
        DeliveryRecord {
            topic,
            partition: msg.partition(),
            offset: msg.offset(),
            timestamp,
            timestamp_type,
            key: msg.key().map(<[u8]>::to_vec),
            value: msg.payload().map(<[u8]>::to_vec),
            headers,
            header_name_bytes,
        }
    }

    /// The bytes of header `index`'s name, as the producer sent them.
    pub fn header_name_raw(&self, index: usize) -> &[u8] {
        self.header_name_bytes
            .iter()
            .find(|(i, _)| *i == index)
            .map_or_else(|| self.headers[index].0.as_bytes(), |(_, b)| b.as_slice())
    }

    /// The record view (the JSON document filters see), built from the record's bytes on each
    /// call. The engine matches on a view with only the members filters read and does not keep
    /// it: a buffered record holds its bytes only.
    pub fn view(&self) -> RecordView {
        RecordView::from_parts(self.parts(), self.header_parts())
    }

    /// The record's parts, as the router takes them.
    pub fn parts(&self) -> RecordParts<'_> {
        RecordParts {
            topic: &self.topic,
            partition: self.partition,
            offset: self.offset,
            timestamp: self.timestamp,
            key: self.key.as_deref(),
            value: self.value.as_deref(),
        }
    }

    /// The record's headers, as the router takes them.
    pub fn header_parts(&self) -> impl Iterator<Item = (&str, Option<&[u8]>)> {
        self.headers.iter().map(|(k, v)| (k.as_str(), v.as_deref()))
    }

    /// Estimated bytes the record holds in memory while buffered: its bytes, allocator and
    /// queue overhead, and room for what targets build from it while they deliver. Used for
    /// the buffer caps.
    pub fn memory_estimate(&self) -> usize {
        3 * self.size() + 512
    }

    /// Payload bytes of the record (key, value and headers), used for batch limits.
    pub fn size(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
            .sum();
        self.key.as_ref().map_or(0, Vec::len) + self.value.as_ref().map_or(0, Vec::len) + headers
    }
}

/// What a target says about one attempt at a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Every record of the batch was delivered.
    Delivered,
    /// Not every record was delivered: one outcome per record of the batch, in batch order.
    Partial(Vec<Outcome>),
}

/// What happened to one record of a batch.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Delivered.
    Delivered,
    /// The record failed, and the failure is about this record alone (a per-entry error, a
    /// `batchItemFailures` entry, a record too large on its own, a request that carried only
    /// this record).
    Failed(Failure),
    /// The request that carried this record together with others failed as a whole: the
    /// failure may be caused by any of them. The engine splits such records (`retry.bisect`)
    /// to find the one at fault instead of charging each an attempt.
    Shared(Failure),
    /// Not sent: the target stopped after an earlier request of the batch failed, or the
    /// destination asks for it again without having failed on it (records after a
    /// `batchItemFailures` entry). Costs no attempt; it is sent again.
    NotAttempted,
}

impl Outcome {
    /// The failure, for `Failed` and `Shared`.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Outcome::Failed(f) | Outcome::Shared(f) => Some(f),
            Outcome::Delivered | Outcome::NotAttempted => None,
        }
    }
}

impl Delivery {
    /// Sums up per-record outcomes (batch order): every record delivered, or partial.
    pub fn from_outcomes(outcomes: Vec<Outcome>) -> Delivery {
        if outcomes.iter().all(|o| *o == Outcome::Delivered) {
            Delivery::Delivered
        } else {
            Delivery::Partial(outcomes)
        }
    }
}

/// Why a delivery failed, as facts; [`Failure::cause`] and [`Failure::is_retryable`] decide
/// what that means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The destination's own error code or type (e.g. `ThrottlingException`, `Unhandled`).
    pub code: String,
    /// The destination's message.
    pub message: String,
}

/// Kinds of delivery failure. Each belongs to one [`Cause`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The function ran and reported an error for the records it was given (a Lambda
    /// function error, an invalid partial-batch response). Record cause, retryable.
    FunctionError,
    /// No answer within the attempt's time (the function ran too long on its records).
    /// Record cause, retryable.
    Timeout,
    /// The record can never fit the destination's size limit. Record cause, permanent.
    PayloadTooLarge,
    /// The record cannot be turned into what the destination accepts (not a JSON object,
    /// `MalformedDetail`, an entry the destination rejects as invalid). Record cause,
    /// permanent.
    InvalidPayload,
    /// fanout itself failed on the record (a panic while matching or delivering it). Record
    /// cause, retryable.
    InternalError,
    /// The destination asked us to slow down (HTTP 429, `ThrottlingException`, ...). Target
    /// cause.
    Throttled,
    /// Network error, connect timeout or 5xx: the destination is unavailable. Target cause.
    Unavailable,
    /// The function or bus does not exist. Target cause.
    NotFound,
    /// Not allowed: access denied, unknown or expired credentials. Target cause.
    AccessDenied,
    /// The destination rejects requests as fanout builds them for this target (a wrong
    /// qualifier, a bad endpoint, the SDK cannot build the request): its configuration is
    /// wrong, not the record. Target cause.
    InvalidRequest,
}

/// Who a failure is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cause {
    /// The record(s) sent: may end in the DLQ after the route's attempts.
    Record,
    /// The target or its environment (credentials, missing resources, unreachable endpoint,
    /// throttling): never dead-letters a record; the lane holds, backs off and probes, and the
    /// target is reported down.
    Target,
}

impl FailureKind {
    /// Stable snake_case name, used in DLQ headers and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::FunctionError => "function_error",
            FailureKind::Timeout => "timeout",
            FailureKind::PayloadTooLarge => "payload_too_large",
            FailureKind::InvalidPayload => "invalid_payload",
            FailureKind::InternalError => "internal_error",
            FailureKind::Throttled => "throttled",
            FailureKind::Unavailable => "unavailable",
            FailureKind::NotFound => "not_found",
            FailureKind::AccessDenied => "access_denied",
            FailureKind::InvalidRequest => "invalid_request",
        }
    }
}

impl Failure {
    /// A failure of the given kind.
    pub fn new(kind: FailureKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        Failure {
            kind,
            code: code.into(),
            message: message.into(),
        }
    }

    /// **The** classification, part one: is the failure about the record or about the target?
    /// Only record failures can dead-letter a record.
    pub fn cause(&self) -> Cause {
        match self.kind {
            FailureKind::FunctionError
            | FailureKind::Timeout
            | FailureKind::PayloadTooLarge
            | FailureKind::InvalidPayload
            | FailureKind::InternalError => Cause::Record,
            FailureKind::Throttled
            | FailureKind::Unavailable
            | FailureKind::NotFound
            | FailureKind::AccessDenied
            | FailureKind::InvalidRequest => Cause::Target,
        }
    }

    /// **The** classification, part two: is another attempt worth making? Target failures
    /// always are (the lane waits for the target); of record failures, a record too large or
    /// invalid for the destination will never pass.
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self.kind,
            FailureKind::PayloadTooLarge | FailureKind::InvalidPayload
        )
    }

    /// `retryable` or `permanent` (the `fanout.error.class` DLQ header).
    pub fn class(&self) -> &'static str {
        if self.is_retryable() {
            "retryable"
        } else {
            "permanent"
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.kind.as_str(),
            self.code,
            self.message
        )
    }
}

/// A delivery destination. The engine calls `deliver` with batches of one (partition, target)
/// lane, one batch at a time per lane (or per sub-lane with key/none ordering), and never
/// concurrently for the same records.
///
/// Return `Ok(Delivery::Delivered)` when every record is delivered, `Ok(Delivery::Partial)`
/// with one [`Outcome`] per record otherwise, or `Err(failure)` when one request carrying the
/// whole batch failed (the same as [`Outcome::Shared`] for every record, or
/// [`Outcome::Failed`] for a batch of one). Do not retry inside: the engine counts attempts,
/// splits failed batches and backs off by the route's policy. A panic inside `deliver` is
/// caught: the batch's records fail as `internal_error`.
#[async_trait]
pub trait Target: Send + Sync + 'static {
    /// Delivers one batch (never empty).
    async fn deliver(&self, batch: &[Arc<DeliveryRecord>]) -> Result<Delivery, Failure>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_sum_up_to_delivered_or_partial() {
        let f = Failure::new(FailureKind::FunctionError, "E", "boom");
        assert_eq!(
            Delivery::from_outcomes(vec![Outcome::Delivered, Outcome::Delivered]),
            Delivery::Delivered
        );
        let partial = vec![Outcome::Delivered, Outcome::Failed(f.clone())];
        assert_eq!(
            Delivery::from_outcomes(partial.clone()),
            Delivery::Partial(partial)
        );
        assert_eq!(Outcome::Shared(f.clone()).failure(), Some(&f));
        assert_eq!(Outcome::NotAttempted.failure(), None);
    }

    /// kind | cause | retryable: every kind, so that adding one means deciding here.
    #[test]
    fn every_kind_has_one_cause_and_retry_class() {
        use FailureKind::*;
        let table = [
            (FunctionError, Cause::Record, true),
            (Timeout, Cause::Record, true),
            (PayloadTooLarge, Cause::Record, false),
            (InvalidPayload, Cause::Record, false),
            (InternalError, Cause::Record, true),
            (Throttled, Cause::Target, true),
            (Unavailable, Cause::Target, true),
            (NotFound, Cause::Target, true),
            (AccessDenied, Cause::Target, true),
            (InvalidRequest, Cause::Target, true),
        ];
        for (kind, cause, retryable) in table {
            let f = Failure::new(kind, "c", "m");
            assert_eq!(f.cause(), cause, "{kind:?}");
            assert_eq!(f.is_retryable(), retryable, "{kind:?}");
            assert_eq!(f.class(), if retryable { "retryable" } else { "permanent" });
        }
    }
}
