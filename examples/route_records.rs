//! Embedding fanout's router: build a route table from route-file text and from code, match
//! Kafka records, and read the targets each record goes to.
//!
//! Run with `cargo run --example route_records`.

use fanout::router::config::RouteConfig;
use fanout::router::{RecordParts, RecordView, RouteTable, TargetKind};

const ROUTES: &str = r#"
routes:
  - name: big-orders
    topics: [orders]
    filters:
      - pattern: {"value": {"amount": [{"numeric": [">", 100]}]}}
    targets:
      - lambda: {name: fraud, function: fraud-check}
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = RouteTable::builder();
    // Route files: YAML or JSON text (reading the files is the caller's job).
    builder.add_file("orders.yaml", ROUTES);
    // Routes built in code use the same configuration types.
    let audit: RouteConfig = serde_json::from_value(serde_json::json!({
        "name": "audit-everything",
        "topics": ["orders"],
        "filters": [{"jsonpath": "@.headers.source == 'web'"}],
        "targets": [{"eventbridge": {"bus": "audit", "source": "shop", "detail_type": "Order"}}]
    }))?;
    builder.add_route(&audit);
    let table = builder.build()?;

    let mut matched = Vec::new(); // reused for every record
    for (offset, value) in [r#"{"amount": 250}"#, r#"{"amount": 20}"#]
        .iter()
        .enumerate()
    {
        let record = RecordView::from_parts(
            RecordParts {
                topic: "orders",
                partition: 0,
                offset: offset as i64,
                timestamp: Some(1_700_000_000_000),
                key: Some(b"order-1"),
                value: Some(value.as_bytes()),
            },
            [("source", Some(&b"web"[..]))],
        );
        table.match_record(&record, &mut matched);
        for &route in &matched {
            for target in table.route_targets(route) {
                let kind = match &target.kind {
                    TargetKind::Lambda(l) => format!("lambda {}", l.function),
                    TargetKind::EventBridge(e) => format!("eventbridge {}", e.bus),
                    TargetKind::Custom(c) => format!("custom {}", c.kind),
                };
                println!("offset {offset} -> {} ({kind})", target.qualified_name);
            }
        }
    }
    Ok(())
}
