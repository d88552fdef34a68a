//! The `Target` abstraction: what a delivery destination implements, and the one place where
//! failures are classified as retryable or permanent.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use fanout_router::{RecordParts, RecordView};
use rdkafka::message::{BorrowedMessage, Headers, Message, Timestamp};

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
    /// Headers in record order.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
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
    pub fn from_message(msg: &BorrowedMessage<'_>, topic: Arc<str>) -> DeliveryRecord {
        let (timestamp, timestamp_type) = match msg.timestamp() {
            Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
            Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
            Timestamp::NotAvailable => (None, TimestampType::NotAvailable),
        };
        let headers: Vec<(String, Option<Vec<u8>>)> = msg
            .headers()
            .map(|hs| {
                hs.iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        DeliveryRecord {
            topic,
            partition: msg.partition(),
            offset: msg.offset(),
            timestamp,
            timestamp_type,
            key: msg.key().map(<[u8]>::to_vec),
            value: msg.payload().map(<[u8]>::to_vec),
            headers,
        }
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
    /// Some records failed: one entry per record of the batch, in batch order (`None` =
    /// delivered).
    Partial(Vec<Option<Failure>>),
}

impl Delivery {
    /// Sums up per-record outcomes (batch order, `None` = delivered): every record delivered,
    /// one failure shared by every record (the whole batch failed), or partial.
    pub fn from_outcomes(outcomes: Vec<Option<Failure>>) -> Result<Delivery, Failure> {
        if outcomes.iter().all(Option::is_none) {
            return Ok(Delivery::Delivered);
        }
        if let Some(Some(first)) = outcomes.first()
            && outcomes.iter().all(|o| o.as_ref() == Some(first))
        {
            return Err(first.clone());
        }
        Ok(Delivery::Partial(outcomes))
    }
}

/// Why a delivery failed, as facts; [`Failure::is_retryable`] decides what that means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// What kind of failure.
    pub kind: FailureKind,
    /// The destination's own error code or type (e.g. `ThrottlingException`, `Unhandled`).
    pub code: String,
    /// The destination's message.
    pub message: String,
}

/// Kinds of delivery failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// The destination asked us to slow down (HTTP 429, `ThrottlingException`, ...).
    Throttled,
    /// No answer in time.
    Timeout,
    /// Network error or 5xx: the destination is (perhaps briefly) unavailable.
    Unavailable,
    /// The destination ran and reported an error (e.g. a Lambda function error).
    FunctionError,
    /// The request is invalid and will stay invalid (4xx validation).
    InvalidRequest,
    /// The destination does not exist.
    NotFound,
    /// Not allowed.
    AccessDenied,
    /// The record can never fit the destination's size limit.
    PayloadTooLarge,
    /// The record cannot be turned into what the destination accepts.
    InvalidPayload,
}

impl FailureKind {
    /// Stable snake_case name, used in DLQ headers and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Throttled => "throttled",
            FailureKind::Timeout => "timeout",
            FailureKind::Unavailable => "unavailable",
            FailureKind::FunctionError => "function_error",
            FailureKind::InvalidRequest => "invalid_request",
            FailureKind::NotFound => "not_found",
            FailureKind::AccessDenied => "access_denied",
            FailureKind::PayloadTooLarge => "payload_too_large",
            FailureKind::InvalidPayload => "invalid_payload",
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

    /// **The** retry classification: every target failure goes through here, and nothing else
    /// decides whether a failure is worth another attempt.
    pub fn is_retryable(&self) -> bool {
        match self.kind {
            FailureKind::Throttled
            | FailureKind::Timeout
            | FailureKind::Unavailable
            | FailureKind::FunctionError => true,
            FailureKind::InvalidRequest
            | FailureKind::NotFound
            | FailureKind::AccessDenied
            | FailureKind::PayloadTooLarge
            | FailureKind::InvalidPayload => false,
        }
    }

    /// `retryable` or `permanent`.
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
/// when some were, or `Err(failure)` when the whole batch failed. Do not retry inside: the
/// engine counts attempts and backs off by the route's policy.
#[async_trait]
pub trait Target: Send + Sync + 'static {
    /// Delivers one batch (never empty).
    async fn deliver(&self, batch: &[Arc<DeliveryRecord>]) -> Result<Delivery, Failure>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_sum_up_to_delivered_shared_failure_or_partial() {
        let f = Failure::new(FailureKind::Throttled, "T", "slow down");
        let g = Failure::new(FailureKind::InvalidRequest, "V", "bad");
        assert_eq!(
            Delivery::from_outcomes(vec![None, None]),
            Ok(Delivery::Delivered)
        );
        assert_eq!(
            Delivery::from_outcomes(vec![Some(f.clone()), Some(f.clone())]),
            Err(f.clone())
        );
        assert_eq!(
            Delivery::from_outcomes(vec![Some(f.clone()), Some(g.clone())]),
            Ok(Delivery::Partial(vec![Some(f.clone()), Some(g)]))
        );
        assert_eq!(
            Delivery::from_outcomes(vec![None, Some(f.clone())]),
            Ok(Delivery::Partial(vec![None, Some(f)]))
        );
    }

    #[test]
    fn classification_is_by_kind() {
        let retryable = [
            FailureKind::Throttled,
            FailureKind::Timeout,
            FailureKind::Unavailable,
            FailureKind::FunctionError,
        ];
        for kind in retryable {
            assert!(Failure::new(kind, "c", "m").is_retryable(), "{kind:?}");
        }
        let permanent = [
            FailureKind::InvalidRequest,
            FailureKind::NotFound,
            FailureKind::AccessDenied,
            FailureKind::PayloadTooLarge,
            FailureKind::InvalidPayload,
        ];
        for kind in permanent {
            let f = Failure::new(kind, "c", "m");
            assert!(!f.is_retryable(), "{kind:?}");
            assert_eq!(f.class(), "permanent");
        }
    }
}
