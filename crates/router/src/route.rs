//! Compiled, immutable runtime types: routes, targets and their delivery settings.

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use serde_json::Value;
use serde_json_path::JsonPath;

use crate::filter::Filter;
use crate::record::RecordView;

/// Index of a route in its [`crate::RouteTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteId(pub u32);

/// Index of a target in its [`crate::RouteTable`] (unique across all routes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetId(pub u32);

/// A compiled route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Its id in the table.
    pub id: RouteId,
    /// Unique name.
    pub name: String,
    /// Operator's description.
    pub description: Option<String>,
    /// Where it was defined (file name, or `<code>`).
    pub origin: String,
    /// Topics it reads.
    pub topics: Vec<String>,
    /// Filters, OR-ed; empty means every record.
    pub filters: Vec<Filter>,
    /// Its targets, in the order written.
    pub targets: Vec<TargetId>,
}

impl Route {
    /// Does this record pass the route's filters? (The topic is not checked here.)
    pub fn matches(&self, record: &RecordView) -> bool {
        self.filters.is_empty() || self.filters.iter().any(|f| f.matches(record))
    }
}

/// A compiled target.
#[derive(Debug, Clone)]
pub struct Target {
    /// Its id in the table.
    pub id: TargetId,
    /// The route it belongs to.
    pub route: RouteId,
    /// Name, unique within its route.
    pub name: String,
    /// `route/target`: unique in the table; used in logs, metrics and DLQ headers.
    pub qualified_name: String,
    /// What it delivers to.
    pub kind: TargetKind,
    /// How it delivers.
    pub delivery: DeliverySettings,
}

/// What a target delivers to.
#[derive(Debug, Clone)]
pub enum TargetKind {
    /// An AWS Lambda function.
    Lambda(LambdaTarget),
    /// An Amazon EventBridge bus.
    EventBridge(EventBridgeTarget),
    /// A target kind provided by the embedding application.
    Custom(CustomTarget),
}

impl TargetKind {
    /// `lambda`, `eventbridge`, or `custom:<kind>`.
    pub fn label(&self) -> String {
        match self {
            TargetKind::Lambda(_) => "lambda".into(),
            TargetKind::EventBridge(_) => "eventbridge".into(),
            TargetKind::Custom(c) => format!("custom:{}", c.kind),
        }
    }
}

/// A Lambda function target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LambdaTarget {
    /// Function name, partial or full ARN, without qualifier.
    pub function: String,
    /// Version or alias.
    pub qualifier: Option<String>,
    /// Invocation type.
    pub invocation: Invocation,
    /// Payload format.
    pub format: LambdaFormat,
    /// Endpoint override.
    pub endpoint_url: Option<String>,
}

/// Lambda invocation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invocation {
    /// RequestResponse: the batch is done when the function returns.
    Sync,
    /// Event: the batch is done when Lambda accepted it.
    Async,
}

/// Lambda payload format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LambdaFormat {
    /// Lambda's Kafka event-source-mapping event.
    Esm,
    /// One record view per invocation.
    Record,
}

/// An EventBridge bus target.
#[derive(Debug, Clone)]
pub struct EventBridgeTarget {
    /// Bus name or ARN.
    pub bus: String,
    /// `Source` of every event.
    pub source: String,
    /// `DetailType` of every event.
    pub detail_type: DetailType,
    /// What `Detail` holds.
    pub detail: Detail,
    /// `Resources` of every event.
    pub resources: Vec<String>,
    /// Endpoint override.
    pub endpoint_url: Option<String>,
}

/// An event's detail type.
#[derive(Debug, Clone)]
pub enum DetailType {
    /// The same for every record.
    Constant(String),
    /// The first node a JSONPath query selects from the record view (must be a string).
    Path {
        /// The query as written.
        text: String,
        /// The compiled query.
        query: JsonPath,
    },
}

impl DetailType {
    /// The detail type of a record, or `None` when the query selects no string.
    pub fn resolve<'a>(&'a self, record: &'a RecordView) -> Option<&'a str> {
        match self {
            DetailType::Constant(s) => Some(s),
            DetailType::Path { query, .. } => {
                query.query(record.view()).first().and_then(Value::as_str)
            }
        }
    }
}

/// What an EventBridge event's `Detail` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// The record's value.
    Value,
    /// The whole record view.
    Envelope,
}

/// A target implemented by the embedding application, looked up by `kind`.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomTarget {
    /// The kind name the application registered.
    pub kind: String,
    /// Free-form settings passed to the application's factory.
    pub settings: Value,
}

/// How a target delivers: ordering, batching, retries and what happens after the last attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliverySettings {
    /// Ordering guarantee per (partition, target).
    pub ordering: Ordering,
    /// Batches in flight at once per (partition, target); always 1 for `Ordering::Partition`.
    pub concurrency: NonZeroUsize,
    /// Batching limits.
    pub batch: BatchLimits,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// After the last attempt.
    pub on_failure: OnFailure,
}

/// Ordering guarantee per (partition, target).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ordering {
    /// Offset order.
    Partition,
    /// Offset order per key.
    Key,
    /// None.
    None,
}

/// Batching limits; a batch is sent when any is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Most records per batch.
    pub max_records: NonZeroUsize,
    /// Most payload bytes per batch.
    pub max_bytes: NonZeroUsize,
    /// Longest wait for a batch to fill.
    pub max_wait: Duration,
}

/// Retry policy: bounded, exponential, jittered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: NonZeroU32,
    /// Delay before the second attempt.
    pub initial_backoff: Duration,
    /// Upper bound of any delay.
    pub max_backoff: Duration,
    /// Growth factor per attempt (≥ 1).
    pub multiplier: f64,
    /// Stop retrying records older than this.
    pub max_record_age: Option<Duration>,
    /// A record-class failure of a whole request carrying several records splits the batch in
    /// halves to find the record at fault.
    pub bisect: bool,
}

impl RetryPolicy {
    /// The upper bound of the delay before attempt `attempt + 1` (attempt counts from 1):
    /// `initial_backoff * multiplier^(attempt-1)`, capped at `max_backoff`. Callers draw the
    /// actual delay uniformly from `[0, bound]` (full jitter).
    pub fn backoff_ceiling(&self, attempt: u32) -> Duration {
        let exp = self
            .multiplier
            .powi(attempt.saturating_sub(1).min(64) as i32);
        let secs = self.initial_backoff.as_secs_f64() * exp;
        if !secs.is_finite() || secs >= self.max_backoff.as_secs_f64() {
            self.max_backoff
        } else {
            Duration::from_secs_f64(secs)
        }
    }
}

/// What happens to a record after its last failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFailure {
    /// Dead-letter it, then count it finished.
    Dlq,
    /// Keep retrying forever, holding the lane.
    Block,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps() {
        let p = RetryPolicy {
            max_attempts: NonZeroU32::new(5).unwrap(),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            multiplier: 2.0,
            max_record_age: None,
            bisect: true,
        };
        assert_eq!(p.backoff_ceiling(1), Duration::from_millis(100));
        assert_eq!(p.backoff_ceiling(2), Duration::from_millis(200));
        assert_eq!(p.backoff_ceiling(4), Duration::from_millis(800));
        assert_eq!(p.backoff_ceiling(5), Duration::from_secs(1));
        assert_eq!(p.backoff_ceiling(1000), Duration::from_secs(1));
    }
}
