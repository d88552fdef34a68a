//! End-to-end throughput and memory of `fanout` on a real Kafka-compatible broker (tansu).
//!
//! One run, one machine: produce N records (default 1,000,000 of ~670 B; `FANOUT_BENCH_RECORDS`
//! overrides) to an 8-partition topic; measure the raw librdkafka consume rate of that topic
//! (the ceiling) and run the engine with 10 routes delivering to an in-process no-op target until
//! every matching record is delivered, in three interleaved rounds (medians). Two reference rows
//! share those rounds and split the difference: the raw consumer also copying each record's key,
//! value and headers (what any consumer that keeps records past `poll` pays librdkafka), and the
//! engine with one route on the record key (everything fanout does but parse JSON). Then the same
//! 10 routes delivering to a real Lambda function on cargo-lambda's emulator, and to an
//! EventBridge bus on moto (both for a bounded time: the emulators, not fanout, are the limit
//! there); then run it with a stalled target over the whole backlog: the `fanout run` process's
//! peak resident memory. Prints one Markdown table.
//!
//! `cargo bench --bench e2e` (not a criterion benchmark: it times whole runs and reads RSS).
//! `FANOUT_BENCH_PHASES` (comma-separated `noop`, `lambda`, `eventbridge`, `rss`; default all)
//! picks the rows after the ceiling; progress goes to stderr. The four rows measured in rounds
//! also give the CPU time the process used per record (user + system, all threads): what the
//! records cost, whatever else the machine was doing; the progress lines add the broker's.

#[path = "../crates/eventbridge/tests/support/mod.rs"]
mod eventbridge_support;
#[path = "../tests/support/lambda.rs"]
mod lambda_support;
// `tests/support` is compiled once, inside the EventBridge support.
use eventbridge_support::kafka as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use fanout::engine::{Delivery, DeliveryRecord, Engine, EngineConfig, Failure, Target};
use fanout::router::{RecordParts, RecordView, RouteTable};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::json;
use support::{Tansu, TestRecord, unique};

const PARTITIONS: i32 = 8;

/// The allocator the `fanout` binary uses.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Counts what it is given and answers at once.
struct Noop(Arc<AtomicU64>);

#[async_trait]
impl Target for Noop {
    async fn deliver(&self, batch: &[Arc<DeliveryRecord>]) -> Result<Delivery, Failure> {
        self.0.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Ok(Delivery::Delivered)
    }
}

fn record(i: usize) -> TestRecord {
    const REGIONS: [&str; 5] = [
        "eu-west-1",
        "us-east-1",
        "us-west-2",
        "ap-south-1",
        "sa-east-1",
    ];
    const STATUS: [&str; 4] = ["placed", "paid", "shipped", "cancelled"];
    const TIERS: [&str; 4] = ["gold", "silver", "bronze", "new"];
    const CURRENCIES: [&str; 3] = ["EUR", "USD", "GBP"];
    let items: Vec<_> = (0..(i % 4 + 1))
        .map(|j| json!({"sku": format!("SKU-{:05}", (i * 7 + j) % 5000), "qty": j + 1, "price": ((i + j) % 500) as f64 + 0.99}))
        .collect();
    let value = json!({
        "order_id": format!("ord-{i:09}"),
        "customer": {"id": format!("cus-{:07}", i % 100_000), "tier": TIERS[i % 4],
                     "email": format!("user{}@example.com", i % 100_000)},
        "region": REGIONS[i % 5], "status": STATUS[i % 4],
        "amount": (i % 10_000) as f64 / 10.0, "currency": CURRENCIES[i % 3],
        "source_ip": format!("10.{}.{}.{}", i % 256, (i / 256) % 256, i % 200),
        "items": items,
        "created_at": format!("2026-11-27T09:{:02}:{:02}Z", (i / 60) % 60, i % 60),
        "notes": "x".repeat(300),
    });
    TestRecord {
        partition: (i % PARTITIONS as usize) as i32,
        key: format!("cus-{:07}", i % 100_000),
        value: value.to_string(),
        headers: vec![("source".into(), ["web", "mobile", "pos"][i % 3].into())],
    }
}

/// Ten routes, as ten teams would write them: a few selective filters each, all delivering to
/// `target` (a target definition without a name).
fn routes(topic: &str, target: &serde_json::Value) -> serde_json::Value {
    let filters = [
        json!([{"pattern": {"value": {"status": ["paid"], "amount": [{"numeric": [">", 500]}]}}}]),
        json!([{"pattern": {"value": {"region": ["eu-west-1"], "customer": {"tier": ["gold"]}}}}]),
        json!([{"pattern": {"value": {"currency": ["GBP"], "status": [{"anything-but": "cancelled"}]}}}]),
        json!([{"pattern": {"value": {"source_ip": [{"cidr": "10.1.0.0/16"}]}}}]),
        json!([{"pattern": {"headers": {"source": ["pos"]}, "value": {"amount": [{"numeric": ["<", 50]}]}}}]),
        json!([{"pattern": {"value": {"order_id": [{"prefix": "ord-0000001"}]}}}]),
        json!([{"jsonpath": "@.value.status == 'shipped' && @.value.region == 'us-west-2'"}]),
        json!([{"pattern": {"value": {"items": {"sku": [{"prefix": "SKU-000"}]}}}}]),
        json!([{"pattern": {"value": {"customer": {"tier": ["new"]}, "region": ["ap-south-1", "sa-east-1"]}}}]),
        json!([{"pattern": {"key": [{"prefix": "cus-00000"}]}}]),
    ];
    json!(
        filters
            .iter()
            .enumerate()
            .map(|(i, f)| json!({
                "name": format!("team-{i}"), "topics": [topic], "filters": f, "targets": [target]
            }))
            .collect::<Vec<_>>()
    )
}

fn route_table(topic: &str, target: serde_json::Value) -> Arc<RouteTable> {
    let mut b = RouteTable::builder();
    for r in routes(topic, &target).as_array().unwrap() {
        b.add_route(&serde_json::from_value(r.clone()).unwrap());
    }
    Arc::new(b.build().unwrap())
}

/// One route on the record key (every key matches): the engine's work without JSON parsing.
fn key_route_table(topic: &str, target: serde_json::Value) -> Arc<RouteTable> {
    let mut b = RouteTable::builder();
    b.add_route(
        &serde_json::from_value(json!({
            "name": "by-key", "topics": [topic],
            "filters": [{"pattern": {"key": [{"prefix": "cus-"}]}}], "targets": [target]
        }))
        .unwrap(),
    );
    Arc::new(b.build().unwrap())
}

/// Peak resident memory (VmHWM) of a process.
fn peak_rss(pid: u32) -> usize {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Reads the topic from the start with a bare consumer (no group); with `copy`, also copies each
/// record out of librdkafka's buffers as the engine does ([`DeliveryRecord::from_message`]).
fn raw_consume(kafka: &Tansu, topic: &str, n: usize, copy: bool) -> f64 {
    let consumer: BaseConsumer = kafka
        .client_config()
        .set("group.id", unique("raw"))
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    // Timed from the first record, as the engine's runs are from the first delivery: the
    // connection and the first fetch are not part of the rate.
    let mut started = None;
    let mut seen = 0;
    let topic: Arc<str> = topic.into();
    while seen < n {
        if let Some(Ok(m)) = consumer.poll(Timeout::After(Duration::from_millis(100))) {
            started.get_or_insert_with(Instant::now);
            if copy {
                std::hint::black_box(DeliveryRecord::from_message(&m, topic.clone()));
            }
            seen += 1;
        }
    }
    n as f64 / started.map_or(0.0, |s| s.elapsed().as_secs_f64())
}

fn config(kafka: &Tansu) -> EngineConfig {
    EngineConfig::new(&kafka.bootstrap, &unique("bench"), "dlq")
        .kafka_property("session.timeout.ms", "2000")
        .kafka_property("heartbeat.interval.ms", "500")
}

/// CPU time a process (`self` or a pid) has used (user + system), from `/proc/<pid>/stat`.
fn cpu_time_of(pid: &str) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime and stime are 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: u64 = fields
        .get(11..13)
        .map_or(0, |f| f.iter().filter_map(|t| t.parse::<u64>().ok()).sum());
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

/// The rounds of one run: records/s, and CPU µs per record of this process and of the broker.
#[derive(Debug, Clone, Default)]
struct Rounds {
    /// The run's row in the table.
    name: &'static str,
    rates: Vec<f64>,
    cpu: Vec<f64>,
    broker: Vec<f64>,
}

impl Rounds {
    fn new(name: &'static str) -> Rounds {
        Rounds {
            name,
            ..Rounds::default()
        }
    }

    /// Runs `run` (which gives records/s over `n` records) and notes the CPU it took.
    async fn measure(&mut self, broker: &str, n: usize, run: impl Future<Output = f64>) {
        let (us, them) = cpu_times(broker);
        self.rates.push(run.await);
        let (us_after, them_after) = cpu_times(broker);
        let per_record = |d: Duration| d.as_secs_f64() * 1e6 / n as f64;
        self.cpu.push(per_record(us_after - us));
        self.broker.push(per_record(them_after - them));
    }

    fn rate(&self) -> f64 {
        median(self.rates.clone())
    }

    fn cpu_median(&self) -> f64 {
        median(self.cpu.clone())
    }
}

/// CPU time this process and the broker have used.
fn cpu_times(broker: &str) -> (Duration, Duration) {
    (cpu_time_of("self"), cpu_time_of(broker))
}

/// Rounds of the ceiling, the reference rows and the no-op run.
const ROUNDS: usize = 3;

fn median(mut rates: Vec<f64>) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates[rates.len() / 2]
}

/// The engine with the routes delivering to an in-process no-op target: records/s from the first
/// delivery (the group join excluded) to the last.
async fn noop_run(kafka: &Tansu, table: &Arc<RouteTable>, expected: u64, n: usize) -> f64 {
    let delivered = Arc::new(AtomicU64::new(0));
    let noop: Arc<dyn Target> = Arc::new(Noop(delivered.clone()));
    let engine = Engine::new(config(kafka), table.clone(), |_| Some(noop.clone())).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let run = tokio::spawn(engine.run(async {
        let _ = stopped.await;
    }));
    while delivered.load(Ordering::Relaxed) == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let started = Instant::now();
    while delivered.load(Ordering::Relaxed) < expected {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = n as f64 / started.elapsed().as_secs_f64();
    stop.send(()).unwrap();
    run.await.unwrap().unwrap();
    rate
}

/// Runs the engine with `targets` until `expected` deliveries or `limit` (after the first
/// delivery) pass; returns (deliveries, seconds).
async fn run_for(
    kafka: &Tansu,
    table: Arc<RouteTable>,
    targets: Vec<Arc<dyn Target>>,
    expected: u64,
    limit: Duration,
) -> (u64, f64) {
    let mut cfg = config(kafka);
    cfg.drain_timeout = Duration::from_secs(1);
    let engine = Engine::new(cfg, table, |t| targets.get(t.id.0 as usize).cloned()).unwrap();
    let stats = engine.stats();
    let delivered = move || {
        stats
            .targets()
            .map(|(_, s)| {
                s.delivered.load(Ordering::Relaxed) + s.dead_lettered.load(Ordering::Relaxed)
            })
            .sum::<u64>()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut run = tokio::spawn(engine.run(async {
        let _ = stopped.await;
    }));
    while delivered() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let started = Instant::now();
    while delivered() < expected && started.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let result = (delivered(), started.elapsed().as_secs_f64());
    stop.send(()).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(60), &mut run).await;
    result
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("FANOUT_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let kafka = Tansu::start();
    let topic = unique("e2e");
    kafka.create_topic(&topic, PARTITIONS).await;
    kafka.create_topic("dlq", 1).await;
    let noop_target = json!({"custom": {"name": "t", "kind": "bench", "delivery": {"batch": {"max_records": 500, "max_wait": "20ms"}}}});
    let table = route_table(&topic, noop_target.clone());
    let key_table = key_route_table(&topic, noop_target);

    // Produce, and count the deliveries the routes require.
    let (mut expected, mut key_expected) = (0u64, 0u64);
    let mut bytes = 0usize;
    let mut matched = Vec::new();
    for start in (0..n).step_by(50_000) {
        let chunk: Vec<TestRecord> = (start..(start + 50_000).min(n)).map(record).collect();
        for r in &chunk {
            bytes += r.value.len();
            let view = RecordView::from_parts(
                RecordParts {
                    topic: &topic,
                    key: Some(r.key.as_bytes()),
                    value: Some(r.value.as_bytes()),
                    ..Default::default()
                },
                r.headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), Some(v.as_bytes()))),
            );
            table.match_record(&view, &mut matched);
            expected += matched.len() as u64;
            key_table.match_record(&view, &mut matched);
            key_expected += matched.len() as u64;
        }
        kafka.produce(&topic, &chunk).await;
    }
    // The ceiling, the reference rows and (a), 10 routes to an in-process no-op target:
    // interleaved rounds, medians (this machine's run-to-run spread is wide).
    let noop = phase("noop");
    let broker = kafka.pid().to_string();
    // Runs measured in the same rounds: the ceiling first.
    let mut runs: Vec<Rounds> = [
        "raw librdkafka consume (ceiling)",
        "raw librdkafka consume, copying each record as the engine does",
        "fanout, 10 routes, no-op target",
        "fanout, 1 route on the key (no JSON parsing), no-op target",
    ]
    .into_iter()
    .take(if noop { 4 } else { 1 })
    .map(Rounds::new)
    .collect();
    for _ in 0..if noop { ROUNDS } else { 1 } {
        runs[0]
            .measure(&broker, n, async { raw_consume(&kafka, &topic, n, false) })
            .await;
        if noop {
            runs[1]
                .measure(&broker, n, async { raw_consume(&kafka, &topic, n, true) })
                .await;
            runs[2]
                .measure(&broker, n, noop_run(&kafka, &table, expected, n))
                .await;
            runs[3]
                .measure(&broker, n, noop_run(&kafka, &key_table, key_expected, n))
                .await;
        }
        eprintln!("e2e: records/s, µs CPU/record, broker µs CPU/record per round:");
        for run in &runs {
            eprintln!(
                "e2e:   {}: {:.0?}, {:.2?}, {:.2?}",
                run.name, run.rates, run.cpu, run.broker
            );
        }
    }
    let ceiling = runs[0].rate();

    // (b) the same routes to a real Lambda function on cargo-lambda's emulator.
    let lambda_rate = if phase("lambda") {
        let mut lambdas = lambda_support::LambdaStack::start();
        for _ in 0..4 {
            lambdas.function("recorder", &[("RECORDER_FILE", "/dev/null")]);
        }
        let lambda_table = route_table(
            &topic,
            json!({"lambda": {"name": "t", "function": "recorder", "delivery": {"batch": {"max_records": 500, "max_wait": "20ms"}}}}),
        );
        let mut factory = fanout_lambda::LambdaTargets::builder()
            .region("us-east-1")
            .credentials("test", "test")
            .endpoint_url(&lambdas.endpoint)
            .bootstrap_servers(&kafka.bootstrap)
            .build()
            .await;
        let lambda_targets: Vec<Arc<dyn Target>> = lambda_table
            .targets()
            .iter()
            .map(|t| factory.target(t).unwrap())
            .collect();
        let rate = run_for(
            &kafka,
            lambda_table,
            lambda_targets,
            expected,
            Duration::from_secs(30),
        )
        .await;
        drop(lambdas);
        Some(rate)
    } else {
        None
    };

    // (c) the same routes to an EventBridge bus on moto (no rule: moto delivers rules synchronously).
    let bus_rate = if phase("eventbridge") {
        let moto = eventbridge_support::Moto::start().await;
        moto.create_bus("bench").await;
        let bus_table = route_table(
            &topic,
            json!({"eventbridge": {"name": "t", "bus": "bench", "source": "bench", "detail_type": "Order"}}),
        );
        let mut buses = moto.targets();
        let bus_targets: Vec<Arc<dyn Target>> = bus_table
            .targets()
            .iter()
            .map(|t| buses.target(t).unwrap())
            .collect();
        let rate = run_for(
            &kafka,
            bus_table,
            bus_targets,
            expected,
            Duration::from_secs(30),
        )
        .await;
        drop(moto);
        Some(rate)
    } else {
        None
    };

    // Peak RSS of the `fanout run` process: a target that never answers, the whole backlog.
    let peak = if phase("rss") {
        let dir = support::temp_dir("e2e-rss");
        std::fs::create_dir_all(dir.join("routes")).unwrap();
        let stalled_routes = routes(
            &topic,
            &json!({"custom": {"name": "t", "kind": "ledger", "settings": {"path": dir.join("never.jsonl"), "stall": true}}}),
        );
        std::fs::write(
            dir.join("routes/bench.json"),
            json!({"routes": stalled_routes}).to_string(),
        )
        .unwrap();
        std::fs::write(
            dir.join("fanout.yaml"),
            format!(
                "kafka:\n  bootstrap_servers: {}\n  group_id: {}\n  properties:\n    session.timeout.ms: 2000\n    heartbeat.interval.ms: 500\ndlq:\n  topic: dlq\nengine:\n  drain_timeout: 100ms\n",
                kafka.bootstrap,
                unique("rss")
            ),
        )
        .unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fanout"))
            .args(["run", "--config"])
            .arg(dir.join("fanout.yaml"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        tokio::time::sleep(Duration::from_secs(25)).await;
        let peak_bytes = peak_rss(child.id());
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let _ = child.wait();
        Some(peak_bytes)
    } else {
        None
    };

    println!(
        "\n{n} records, ~{} B each, {PARTITIONS} partitions; 10 routes, {:.2} matches/record\n",
        bytes / n,
        expected as f64 / n as f64
    );
    println!("| run | records/s | vs. raw consume | memory |");
    println!("|---|---|---|---|");
    for run in &runs {
        println!(
            "| {} (median of {}; {:.2} µs CPU/record) | {:.0} | {:.0} % | |",
            run.name,
            run.rates.len(),
            run.cpu_median(),
            run.rate(),
            100.0 * run.rate() / ceiling
        );
    }
    let per_record = expected as f64 / n as f64;
    for (name, run) in [
        (
            "Lambda (cargo-lambda emulator, 4 function processes)",
            lambda_rate,
        ),
        ("EventBridge (moto)", bus_rate),
    ] {
        let Some((deliveries, secs)) = run else {
            continue;
        };
        let records = deliveries as f64 / per_record / secs;
        println!(
            "| fanout, 10 routes, {name}: {deliveries} deliveries in {secs:.1} s | {records:.0} | {:.1} % | |",
            100.0 * records / ceiling
        );
    }
    if let Some(peak) = peak {
        println!(
            "| `fanout run`, stalled target, full backlog | | | peak RSS {} MiB |",
            peak >> 20
        );
    }
}

/// Whether `FANOUT_BENCH_PHASES` (comma-separated; default all) names a phase: `noop`,
/// `lambda`, `eventbridge`, `rss`.
fn phase(name: &str) -> bool {
    let run = std::env::var("FANOUT_BENCH_PHASES")
        .map_or(true, |phases| phases.split(',').any(|p| p.trim() == name));
    if run {
        eprintln!("e2e: {name}");
    }
    run
}
