//! fanout's routing library: which Kafka records go to which targets.
//!
//! Pure: no I/O, no async runtime, no AWS or Kafka client. The dispatcher feeds it records and
//! reads back the matching routes and their targets.
//!
//! ```
//! use fanout_router::{RecordParts, RecordView, RouteTable};
//!
//! let yaml = r#"
//! routes:
//!   - name: big-orders
//!     topics: [orders]
//!     filters:
//!       - pattern: {"value": {"amount": [{"numeric": [">", 100]}]}}
//!     targets:
//!       - lambda:
//!           function: fraud-check
//! "#;
//! let mut builder = RouteTable::builder();
//! builder.add_file("routes/orders.yaml", yaml);
//! let table = builder.build().expect("valid routes");
//!
//! let record = RecordView::from_parts(
//!     RecordParts { topic: "orders", value: Some(br#"{"amount": 250}"#), ..Default::default() },
//!     [],
//! );
//! let mut matched = Vec::new(); // reused across records
//! table.match_record(&record, &mut matched);
//! let targets: Vec<&str> = matched
//!     .iter()
//!     .flat_map(|&route| table.route_targets(route))
//!     .map(|t| t.qualified_name.as_str())
//!     .collect();
//! assert_eq!(targets, ["big-orders/fraud-check"]);
//! ```
//!
//! # How it works
//!
//! - [`RecordView`] turns a Kafka record into the JSON document filters see: `topic`,
//!   `partition`, `offset`, `timestamp`, `key`, `headers`, `value` (see [`record`]).
//! - Route files ([`config`]) are YAML or JSON. [`RouteTableBuilder`] reads each file's text,
//!   substitutes `${ENV}` references, checks every route and reports every problem with file,
//!   line, column, route and field. Configuration types are then compiled into the immutable
//!   runtime types of [`route`]; runtime code never reads configuration.
//! - A route matches a record when the record's topic is one of the route's topics and any of
//!   its filters holds ([`Filter`]): an EventBridge event pattern ([`pattern`]) or an RFC 9535
//!   JSONPath filter expression ([`jsonpath`]). No filter means every record.
//! - [`RouteTable::match_record`] writes matching route ids into a buffer the caller reuses;
//!   [`RouteTable::match_parts`] gives the same ids from a record's bytes without building the
//!   view, parsing only the members some filter reads (what the dispatcher uses).
//!   The table indexes every filter's necessary conditions (exact values, prefixes, suffixes,
//!   numeric ranges) per topic, so a record evaluates only the few routes those conditions
//!   select; the result is always exactly that of evaluating every route in turn.

mod build;
pub mod config;
mod doc;
mod error;
mod filter;
mod json;
pub mod jsonpath;
mod matcher;
pub mod pattern;
mod projection;
pub mod record;
pub mod route;
mod table;

pub use error::{RouteError, RouteErrors};
pub use filter::Filter;
pub use jsonpath::{JsonPathError, JsonPathFilter};
pub use matcher::MatchScratch;
pub use pattern::{Pattern, PatternError};
pub use record::{RecordParts, RecordView};
pub use route::{
    BatchLimits, CustomTarget, DeliverySettings, Detail, DetailType, EventBridgeTarget, Invocation,
    LambdaFormat, LambdaTarget, OnFailure, Ordering, RetryPolicy, Route, RouteId, Target, TargetId,
    TargetKind,
};
pub use table::{RouteTable, RouteTableBuilder};

#[cfg(test)]
mod tests;

#[cfg(test)]
mod settings_tests;
