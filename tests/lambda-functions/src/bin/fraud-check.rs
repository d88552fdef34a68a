//! The `fraud-check` demo function (`scripts/demo.sh`), behind the `order-fraud-check` route
//! (`routes/orders.yaml`: sync invocation, Lambda's Kafka ESM event).
//!
//! It scores every order and prints one line per order. An order of
//! [`APPROVAL_LIMIT`] or more cannot be approved automatically: the function fails the
//! invocation with `ManualReviewRequired`, so fanout splits the invocation's records in halves
//! until that order fails alone, retries it alone (4 attempts) and then writes it to the DLQ as
//! a `function_error`; the other orders are delivered. The demo produces a few such orders on
//! purpose, among the good ones.

use fanout_test_functions::{demo_records, function_error, run_demo};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};

/// Orders at or above this amount fail the invocation.
const APPROVAL_LIMIT: f64 = 50_000.0;

fn handle(call: u64, payload: Value) -> Result<Value, Diagnostic> {
    let mut rejected = Vec::new();
    let mut lines = Vec::new();
    for r in demo_records(&payload)? {
        let o = &r.value;
        let id = o["order_id"].as_str().unwrap_or("?");
        let amount = o["amount"].as_f64().unwrap_or_default();
        let currency = o["currency"].as_str().unwrap_or("");
        let tier = o["customer"]["tier"].as_str().unwrap_or("?");
        let country = o["shipping"]["country"].as_str().unwrap_or("?");
        if amount >= APPROVAL_LIMIT {
            rejected.push(format!("{id} ({amount:.2} {currency})"));
            continue;
        }
        // A toy score: large amounts, new customers and far-away shipping are riskier.
        let mut score = (amount / 2_000.0).min(0.5);
        if tier == "new" {
            score += 0.3;
        }
        if !matches!(country, "US" | "CA") {
            score += 0.1;
        }
        lines.push(format!(
            "fraud-check call {call}: {id} {amount:>8.2} {currency} tier={tier:<8} country={country} score={score:.2} [{}@{}]",
            r.partition_key, r.offset
        ));
    }
    if !rejected.is_empty() {
        println!(
            "fraud-check call {call}: REJECTED {} (over the automatic-approval limit)",
            rejected.join(", ")
        );
        return Err(function_error(
            "ManualReviewRequired",
            format!(
                "orders over the {APPROVAL_LIMIT:.0} automatic-approval limit need a manual review: {}",
                rejected.join(", ")
            ),
        ));
    }
    for l in lines {
        println!("{l}");
    }
    Ok(json!({ "batchItemFailures": [] }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_demo(handle).await
}
