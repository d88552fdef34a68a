//! Route-file configuration types: what users write under `routes/`.
//!
//! These are plain serde types, checked and compiled by [`crate::RouteTableBuilder`] into the
//! immutable runtime types of [`crate::route`]. Runtime code never reads them.

pub mod generate;
mod source;
mod units;

pub use generate::{GeneratedFormat, generated_route, generated_route_file};
pub use source::{RouteSource, Source, SourceError, load_source, read_routes};
pub use units::{parse_byte_size, parse_duration};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One route file: a list of routes.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteFileConfig {
    /// The routes defined in this file.
    pub routes: Vec<Value>,
}

/// A route: which records (topics + filters) go to which targets.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Unique name across all route files; used in logs, metrics and DLQ headers.
    pub name: String,
    /// Free text for operators.
    #[serde(default)]
    pub description: Option<String>,
    /// Kafka topics this route reads. At least one.
    pub topics: Vec<String>,
    /// Filters, OR-ed: a record matches when any filter matches. None means every record.
    #[serde(default)]
    pub filters: Vec<FilterConfig>,
    /// Delivery settings for every target of this route (each target may override).
    #[serde(default)]
    pub delivery: DeliveryConfig,
    /// Where matching records go. At least one.
    pub targets: Vec<TargetConfig>,
}

/// A filter: an EventBridge event pattern or an RFC 9535 JSONPath filter expression.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum FilterConfig {
    /// An EventBridge event pattern, as a mapping or as JSON text.
    Pattern(Value),
    /// An RFC 9535 filter expression (the grammar inside `[? ]`) with the record view as `@`.
    Jsonpath(String),
}

/// Delivery settings; every field optional so a target can override just some of them.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfig {
    /// `partition` (default): one batch in flight per (partition, target), strict offset order.
    /// `key`: order per key, batches of different keys in flight concurrently.
    /// `none`: no ordering, batches in flight concurrently.
    #[serde(default)]
    pub ordering: Option<OrderingConfig>,
    /// Batches in flight at once per (partition, target) for `key` and `none` ordering
    /// (1–256, default 4). Must be 1 (or unset) with `partition` ordering.
    #[serde(default)]
    pub concurrency: Option<u32>,
    /// Batching limits.
    #[serde(default)]
    pub batch: BatchConfig,
    /// Retry policy.
    #[serde(default)]
    pub retry: RetryConfig,
    /// What happens after the last attempt: `dlq` (default) or `block`.
    #[serde(default)]
    pub on_failure: Option<OnFailureConfig>,
}

/// Ordering guarantee per (partition, target).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderingConfig {
    /// Offset order within a partition.
    Partition,
    /// Offset order per record key within a partition.
    Key,
    /// No order.
    None,
}

/// What happens to a record after its last failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailureConfig {
    /// Write it to the dead-letter topic with failure headers, then move on.
    Dlq,
    /// Retry without limit, holding the lane (strict order), logging at ERROR.
    Block,
}

/// Batching limits: a batch is sent when any limit is reached.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// Most records per batch (Lambda 1–10,000, default 100; EventBridge 1–10, default 10).
    #[serde(default)]
    pub max_records: Option<u64>,
    /// Most payload bytes per batch: an integer or a size such as `256KB`, `6MB` (KB = 1024 B).
    #[serde(default)]
    pub max_bytes: Option<Value>,
    /// Longest time the first record of a batch waits for more, e.g. `100ms` (0–300s).
    #[serde(default)]
    pub max_wait: Option<String>,
}

/// Retry policy: exponential backoff with full jitter between attempts.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts in all, the first included (1–1,000, default 5).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Delay before the second attempt (default `100ms`).
    #[serde(default)]
    pub initial_backoff: Option<String>,
    /// Upper bound of the delay between attempts (default `30s`).
    #[serde(default)]
    pub max_backoff: Option<String>,
    /// Growth factor of the delay per attempt (1.0–10.0, default 2.0).
    #[serde(default)]
    pub multiplier: Option<f64>,
    /// Records older than this (since their Kafka timestamp) are not retried further (default:
    /// no limit).
    #[serde(default)]
    pub max_record_age: Option<String>,
    /// When a request carrying several records fails because of a record (a function error,
    /// a timeout, an invalid response), split the batch in halves and retry each, so that only
    /// the record at fault uses up its attempts and is dead-lettered (default `true`).
    #[serde(default)]
    pub bisect: Option<bool>,
}

/// A delivery target, written as a one-key mapping naming its kind:
/// `- lambda: {function: my-fn}` or `- eventbridge: {bus: b, source: s, detail_type: T}`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum TargetConfig {
    /// An AWS Lambda function.
    Lambda(LambdaTargetConfig),
    /// An Amazon EventBridge event bus.
    Eventbridge(EventBridgeTargetConfig),
    /// A target kind provided by an application that embeds fanout.
    Custom(CustomTargetConfig),
}

/// A target implemented by the embedding application.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CustomTargetConfig {
    /// Name of the target within its route.
    pub name: String,
    /// The kind the application registered (e.g. `ledger`).
    pub kind: String,
    /// Settings passed to the application's factory for this kind.
    #[serde(default)]
    pub settings: Value,
    /// Delivery overrides for this target.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

/// An AWS Lambda function target.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaTargetConfig {
    /// Name of the target within its route (default: the function name).
    #[serde(default)]
    pub name: Option<String>,
    /// Function name, partial ARN (`123456789012:function:name`) or full ARN, optionally with
    /// `:qualifier`.
    pub function: String,
    /// Version or alias to invoke.
    #[serde(default)]
    pub qualifier: Option<String>,
    /// `sync` (RequestResponse, default) or `async` (Event).
    #[serde(default)]
    pub invocation: Option<InvocationConfig>,
    /// `esm` (default): the Lambda Kafka event-source-mapping event; `record`: one record view
    /// per invocation.
    #[serde(default)]
    pub format: Option<LambdaFormatConfig>,
    /// Endpoint URL override for this target (default: `AWS_ENDPOINT_URL_LAMBDA` or AWS).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Delivery overrides for this target.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

/// Lambda invocation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvocationConfig {
    /// RequestResponse.
    Sync,
    /// Event.
    Async,
}

/// Lambda payload format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LambdaFormatConfig {
    /// The `aws:kafka` / `SelfManagedKafka` event of Lambda's event source mapping.
    Esm,
    /// One record view per invocation.
    Record,
}

/// An Amazon EventBridge bus target.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EventBridgeTargetConfig {
    /// Name of the target within its route (default: the bus name).
    #[serde(default)]
    pub name: Option<String>,
    /// Event bus name or ARN.
    pub bus: String,
    /// The events' `Source`.
    pub source: String,
    /// The events' `DetailType`: a constant string, or `{path: <JSONPath into the record view>}`.
    pub detail_type: DetailTypeConfig,
    /// `value` (default): the record's JSON value; `envelope`: the whole record view.
    #[serde(default)]
    pub detail: Option<DetailConfig>,
    /// Optional `Resources` (ARNs) of every event.
    #[serde(default)]
    pub resources: Vec<String>,
    /// Endpoint URL override (default: `AWS_ENDPOINT_URL_EVENTBRIDGE` or AWS).
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// Delivery overrides for this target.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

/// Detail type: a constant or a JSONPath into the record view.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum DetailTypeConfig {
    /// A constant detail type.
    Constant(String),
    /// A singular JSONPath query, e.g. `$.value.type`.
    Path {
        /// The query.
        path: String,
    },
}

/// What an EventBridge event's `Detail` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DetailConfig {
    /// The record's value (must be a JSON object).
    Value,
    /// The record view: topic, partition, offset, timestamp, key, headers, value.
    Envelope,
}
