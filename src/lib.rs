//! fanout: a Kafka fan-out router. One consumer group reads Kafka topics, a compiled table of
//! routes (EventBridge event patterns and RFC 9535 JSONPath filters) picks the records, and each
//! matching record is delivered to many targets: AWS Lambda functions and EventBridge buses.
//!
//! This crate is the facade over fanout's libraries and the home of the `fanout` command:
//! - [`router`]: the pure routing library (record view, filters, route files, route table);
//! - [`engine`]: the delivery engine (consumer group, lanes, retries, DLQ, commits);
//! - [`routes_dir`]: reading a directory of route files into a [`router::RouteTable`];
//! - [`targets`]: the target implementations the `fanout` binary provides;
//! - [`telemetry`]: the metrics and health endpoint of `fanout run`.

pub use fanout_engine as engine;
pub use fanout_router as router;

pub mod routes_dir;
pub mod targets;
pub mod telemetry;
