//! Backpressure: with a stalled target and a large backlog, fanout's memory stays bounded by
//! the per-partition buffer caps instead of growing with the backlog.
//!
//! Not a criterion benchmark: it measures memory, not time. Run with
//! `cargo bench --bench backpressure` (starts its own tansu broker). It produces a backlog,
//! runs the engine with a target that never answers, samples the process's resident memory
//! while the engine consumes, and prints one table row per buffer cap.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use fanout::engine::{Engine, EngineConfig};
use fanout::router::RouteTable;
use fanout::targets::build_targets;
use serde_json::json;
use support::{Tansu, TestRecord, temp_dir, unique};

const RECORDS: usize = 200_000;
const PARTITIONS: i32 = 4;
const VALUE_BYTES: usize = 1_000;

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

async fn run_stalled(
    kafka: &Tansu,
    topic: &str,
    cap_records: usize,
    cap_bytes: usize,
) -> (usize, usize) {
    let dir = temp_dir("bp");
    let mut builder = RouteTable::builder();
    builder.add_route(
        &serde_json::from_value(json!({
            "name": "stalled", "topics": [topic],
            "targets": [{"custom": {"name": "never", "kind": "ledger",
                "settings": {"path": dir.join("never.jsonl"), "stall": true}}}]
        }))
        .unwrap(),
    );
    let table = Arc::new(builder.build().unwrap());
    let targets = build_targets(&table, "").await.unwrap();
    let mut config = EngineConfig::new(&kafka.bootstrap, &unique("bp"), "dlq")
        .kafka_property("session.timeout.ms", "2000")
        .kafka_property("heartbeat.interval.ms", "500");
    config.max_buffered_records = cap_records.try_into().unwrap();
    config.max_buffered_bytes = cap_bytes.try_into().unwrap();
    config.drain_timeout = Duration::from_millis(100);
    let engine = Engine::new(config, table, |t| targets.get(t.id.0 as usize).cloned()).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(engine.run(async {
        let _ = stopped.await;
    }));
    let baseline = rss_bytes();
    let mut peak = baseline;
    let until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(50)).await;
        peak = peak.max(rss_bytes());
    }
    stop.send(()).unwrap();
    run.await.unwrap().unwrap();
    (baseline, peak)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let kafka = Tansu::start();
    let topic = unique("backlog");
    kafka.create_topic(&topic, PARTITIONS).await;
    kafka.create_topic("dlq", 1).await;
    let value = "x".repeat(VALUE_BYTES - 20);
    let records: Vec<TestRecord> = (0..RECORDS)
        .map(|i| TestRecord {
            partition: (i % PARTITIONS as usize) as i32,
            key: format!("k{i}"),
            value: json!({"i": i, "pad": value}).to_string(),
            headers: vec![],
        })
        .collect();
    for chunk in records.chunks(20_000) {
        kafka.produce(&topic, chunk).await;
    }
    drop(records);
    println!(
        "backlog: {RECORDS} records x ~{VALUE_BYTES} B = {} MiB on {PARTITIONS} partitions; target never answers",
        (RECORDS * VALUE_BYTES) >> 20
    );
    println!("| per-partition cap | RSS before | peak RSS while consuming | growth |");
    println!("|---|---|---|---|");
    for (records, bytes) in [(1_000, 4 << 20), (10_000, 32 << 20)] {
        let (base, peak) = run_stalled(&kafka, &topic, records, bytes).await;
        println!(
            "| {records} records / {} MiB | {} MiB | {} MiB | {} MiB |",
            bytes >> 20,
            base >> 20,
            peak >> 20,
            (peak.saturating_sub(base)) >> 20
        );
    }
}
