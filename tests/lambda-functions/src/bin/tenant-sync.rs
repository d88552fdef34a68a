//! The `tenant-sync` demo function (`scripts/demo.sh`), behind the `enterprise-tenant-events`
//! route (`routes/tenants.json`: sync invocation, Lambda's Kafka ESM event).
//!
//! It "syncs" each tenant event (prints one line per record). Its first `WARMUP_FAILURES`
//! calls (default 1) fail with `TenantDirectoryWarmingUp`, like a cold cache: fanout sends
//! that batch again (split in halves, since the failure may be any record's) and it is then
//! delivered, so the demo shows a failure that ends well.

use fanout_test_functions::{demo_records, function_error, run_demo};
use lambda_runtime::Diagnostic;
use serde_json::{Value, json};

fn handle(call: u64, payload: Value) -> Result<Value, Diagnostic> {
    let records = demo_records(&payload)?;
    let warmup: u64 = std::env::var("WARMUP_FAILURES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    if call <= warmup {
        println!(
            "tenant-sync call {call}: tenant directory still loading; failing {} record(s) so they are retried",
            records.len()
        );
        return Err(function_error(
            "TenantDirectoryWarmingUp",
            "the tenant directory cache is still loading; try again",
        ));
    }
    for r in &records {
        let header = |name: &str| {
            r.headers
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or("-")
                .to_owned()
        };
        let changes = r.value["changes"].as_array().map_or(0, Vec::len);
        println!(
            "tenant-sync call {call}: {} {} priority={} changes={changes} [{}@{}]",
            r.key.as_deref().unwrap_or("<no key>"),
            header("event-type"),
            header("x-priority"),
            r.partition_key,
            r.offset
        );
    }
    Ok(json!({ "batchItemFailures": [] }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    run_demo(handle).await
}
