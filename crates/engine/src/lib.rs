//! fanout's delivery engine.
//!
//! Consumes the route table's topics with one Kafka consumer group and delivers each record to
//! every target of every route it matches, then commits only offsets whose records have
//! finished everywhere.
//!
//! ```no_run
//! use std::sync::Arc;
//! use async_trait::async_trait;
//! use fanout_engine::{Delivery, DeliveryRecord, Engine, EngineConfig, Failure, Target};
//! use fanout_router::RouteTable;
//!
//! /// A target you write: deliver a batch, report success, partial success or a failure.
//! struct Print;
//!
//! #[async_trait]
//! impl Target for Print {
//!     async fn deliver(&self, batch: &[Arc<DeliveryRecord>]) -> Result<Delivery, Failure> {
//!         for r in batch {
//!             println!("{}@{}: {}", r.topic, r.offset, r.view().view()["value"]);
//!         }
//!         Ok(Delivery::Delivered)
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut routes = RouteTable::builder();
//! routes.add_file("routes.yaml", "routes:\n  - name: all\n    topics: [orders]\n    targets:\n      - custom: {name: print, kind: print}\n");
//! let table = Arc::new(routes.build()?);
//! let config = EngineConfig::new("127.0.0.1:9092", "my-group", "my-dlq");
//! let engine = Engine::new(config, table, |_target| Some(Arc::new(Print) as Arc<dyn Target>))?;
//! engine.run(async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(())
//! # }
//! ```
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
pub mod health;
pub mod kafka_headers;
mod lane;
pub mod ledger;
mod partition;
pub mod preflight;
pub mod retry;
pub mod status;
pub mod target;
mod telemetry;
pub mod watermark;

pub use config::{EngineConfig, LoadedConfig, parse_config};
pub use engine::{Engine, EngineError};
pub use lane::TargetStats;
pub use preflight::{PreflightError, preflight};
pub use status::{EngineStats, PartitionStatus};
pub use target::{
    Cause, Delivery, DeliveryRecord, Failure, FailureKind, Outcome, Target, TimestampType,
};
