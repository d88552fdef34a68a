//! Embedding fanout's delivery engine with a target you write yourself.
//!
//! Needs a Kafka broker: `scripts/stack.sh start tansu`, then
//! `FANOUT_KAFKA_BOOTSTRAP=127.0.0.1:19092 cargo run --example embed_engine` (Ctrl-C stops it).
//! It reads topic `orders` and prints the orders over 100, in batches.

use std::sync::Arc;

use async_trait::async_trait;
use fanout::engine::{Delivery, DeliveryRecord, Engine, EngineConfig, Failure, Target};
use fanout::router::RouteTable;

/// A user-written target: prints each batch.
struct PrintTarget;

#[async_trait]
impl Target for PrintTarget {
    async fn deliver(&self, batch: &[Arc<DeliveryRecord>]) -> Result<Delivery, Failure> {
        for r in batch {
            println!(
                "{}/{}@{}: {}",
                r.topic,
                r.partition,
                r.offset,
                r.view().view()["value"]
            );
        }
        Ok(Delivery::Delivered)
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
