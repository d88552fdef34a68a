//! fanout's delivery engine.
//!
//! Consumes the route table's topics with one Kafka consumer group and delivers each record to
//! every target of every route it matches, then commits only offsets whose records have
//! finished everywhere.
//!
//! # How it works
//!
//! - Each assigned partition has a [`watermark::PartitionProgress`]: the deliveries each fetched
//!   record still owes. The committed offset is the lowest offset still owed anything.
//! - Each (partition, target) has a lane of one or more sub-lanes (one per `concurrency` slot
//!   for `ordering: key | none`), each delivering one batch at a time: batching by
//!   `max_records`/`max_bytes`/`max_wait`, retrying failed records (only those) with jittered
//!   exponential backoff, and dead-lettering what still fails ([`dlq`]).
//! - A partition whose buffered records or bytes pass the caps is paused until its lanes catch
//!   up; a revoked partition's lanes stop and its watermark is committed; on shutdown the lanes
//!   drain within a deadline and the final watermarks are committed.
//! - [`Target`] is all a destination implements; [`Failure::is_retryable`] is the one place
//!   deciding what is worth retrying.

pub mod config;
pub mod dlq;
mod engine;
mod lane;
pub mod ledger;
mod partition;
pub mod target;
pub mod watermark;

pub use config::{EngineConfig, LoadedConfig, parse_config};
pub use engine::{Engine, EngineError, EngineStats};
pub use lane::TargetStats;
pub use target::{Delivery, DeliveryRecord, Failure, FailureKind, Target, TimestampType};
