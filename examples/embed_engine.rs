//! Embedding fanout's delivery engine with a target you write yourself.
//!
//! Needs a Kafka broker: `scripts/stack.sh start tansu`, then
//! `FANOUT_KAFKA_BOOTSTRAP=127.0.0.1:19092 cargo run --example embed_engine` (Ctrl-C stops it).
//! It reads topic `orders` and prints the orders over 100, in batches; an order without a
//! `customer` is dead-lettered to `orders-dlq` (create it first).
//!
//! A target says what happened to each record. A failure's kind decides whom it is about
//! (`Failure::cause`): a record failure (`function_error`, `timeout`, `payload_too_large`,
//! `invalid_payload`, `internal_error`) is retried and then dead-lettered (at once when another
//! attempt cannot help); a target failure (`throttled`, `unavailable`, `not_found`,
//! `access_denied`, `invalid_request`) holds the lane, backs off and probes until the target
//! recovers, and never dead-letters a record.

use std::sync::Arc;

use async_trait::async_trait;
use fanout::engine::{
    Delivery, DeliveryRecord, Engine, EngineConfig, Failure, FailureKind, Outcome, Target,
};
use fanout::router::RouteTable;

/// A user-written target: prints each batch, and refuses orders without a customer.
struct PrintTarget;

#[async_trait]
impl Target for PrintTarget {
    async fn deliver(&self, batch: &[Arc<DeliveryRecord>]) -> Result<Delivery, Failure> {
        // One outcome per record, in batch order. `Outcome::Failed` is about that record alone;
        // `Outcome::Shared` when one request carrying several records failed as a whole (the
        // engine splits them to find the one at fault); `Outcome::NotAttempted` for records not
        // sent (no attempt charged). Returning `Err(failure)` is the same as every record
        // sharing that failure (a batch of one: failing alone).
        let outcomes = batch
            .iter()
            .map(|r| {
                let view = r.view();
                let value = &view.view()["value"];
                if value.get("customer").is_none() {
                    // About this record: dead-lettered at once, the rest of the batch goes on.
                    return Outcome::Failed(Failure::new(
                        FailureKind::InvalidPayload,
                        "NoCustomer",
                        "an order needs a `customer`",
                    ));
                }
                println!("{}/{}@{}: {value}", r.topic, r.partition, r.offset);
                Outcome::Delivered
            })
            .collect();
        Ok(Delivery::from_outcomes(outcomes))
    }
}

const ROUTES: &str = r#"
routes:
  - name: big-orders
    topics: [orders]
    filters:
      - pattern: {"value": {"amount": [{"numeric": [">", 100]}]}}
    targets:
      - custom: {name: printer, kind: print, delivery: {batch: {max_records: 10, max_wait: 50ms}}}
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bootstrap =
        std::env::var("FANOUT_KAFKA_BOOTSTRAP").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let mut builder = RouteTable::builder();
    builder.add_file("routes.yaml", ROUTES);
    let table = Arc::new(builder.build()?);
    let config = EngineConfig::new(&bootstrap, "embed-example", "orders-dlq");
    // Every target of kind `print` is a PrintTarget.
    let engine = Engine::new(config, table, |target| {
        matches!(&target.kind, fanout::router::TargetKind::Custom(c) if c.kind == "print")
            .then(|| Arc::new(PrintTarget) as Arc<dyn Target>)
    })?;
    engine
        .run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
