//! The delivery engine against a real Kafka-compatible broker (tansu): ordering, retries and
//! DLQ, isolation of a stalled target, and what is committed.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use fanout::engine::dlq::headers;
use fanout::engine::{Engine, EngineConfig, EngineStats};
use fanout::router::RouteTable;
use fanout::targets::build_targets;
use serde_json::{Value, json};
use support::{
    Tansu, TestRecord, counts, fast_group, ledger, spawn_engine, temp_dir, unique, wait_for,
};
use tokio::sync::oneshot;

const WAIT: Duration = Duration::from_secs(90);

fn table(routes: Value) -> Arc<RouteTable> {
    let mut builder = RouteTable::builder();
    for r in routes.as_array().unwrap() {
        builder.add_route(&serde_json::from_value(r.clone()).unwrap());
    }
    Arc::new(builder.build().unwrap_or_else(|e| panic!("{e}")))
}

fn ledger_target(name: &str, dir: &Path, settings: Value, delivery: Value) -> Value {
    let mut s = settings;
    s["path"] = json!(dir.join(format!("{name}.jsonl")));
    json!({"custom": {"name": name, "kind": "ledger", "settings": s, "delivery": delivery}})
}

/// Starts an engine in the background; returns the stop switch and its join handle.
async fn start(
    config: EngineConfig,
    table: Arc<RouteTable>,
) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, handle, _) = start_with_stats(config, table).await;
    (stop, handle)
}

/// [`start`], with the engine's counters and state.
async fn start_with_stats(
    config: EngineConfig,
    table: Arc<RouteTable>,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
    EngineStats,
) {
    let targets = build_targets(&table, "").await.unwrap();
    let engine = Engine::new(config, table, |t| targets.get(t.id.0 as usize).cloned()).unwrap();
    let stats = engine.stats();
    let (stop, handle) = spawn_engine(engine);
    (stop, handle, stats)
}

fn records(n: usize, partitions: i32, keys: usize) -> Vec<TestRecord> {
    (0..n)
        .map(|i| TestRecord {
            partition: (i % partitions as usize) as i32,
            key: format!("k{}", i % keys),
            value: json!({"seq": i, "amount": i % 100, "kind": if i % 3 == 0 { "gold" } else { "plain" }})
                .to_string(),
            headers: vec![("trace".into(), format!("t{i}"))],
        })
        .collect()
}

fn offsets_by<F: Fn(&Value) -> String>(
    lines: &[Value],
    group: F,
) -> std::collections::BTreeMap<String, Vec<i64>> {
    let mut m = std::collections::BTreeMap::<String, Vec<i64>>::new();
    for l in lines {
        m.entry(group(l))
            .or_default()
            .push(l["offset"].as_i64().unwrap());
    }
    m
}

/// Acceptance 1: each target's ledger shows every matching record exactly once, in offset
/// order per partition (`ordering: partition`) and per key (`ordering: key`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_target_gets_its_records_in_order() {
    let kafka = Tansu::start();
    let topic = unique("orders");
    kafka.create_topic(&topic, 4).await;
    kafka.create_topic("dlq", 1).await;
    let dir = temp_dir("order");
    let routes = json!([
        {"name": "all", "topics": [topic], "targets": [
            ledger_target("by-partition", &dir, json!({}), json!({"batch": {"max_records": 17, "max_wait": "5ms"}})),
            ledger_target("by-key", &dir, json!({"delay": "1ms"}), json!({"ordering": "key", "concurrency": 4, "batch": {"max_records": 5, "max_wait": "5ms"}})),
        ]},
        {"name": "gold", "topics": [topic], "filters": [{"pattern": {"value": {"kind": ["gold"]}}}], "targets": [
            ledger_target("gold-only", &dir, json!({}), json!({"ordering": "none", "concurrency": 3})),
        ]},
    ]);
    let input = records(2_000, 4, 10);
    kafka.produce(&topic, &input).await;
    let config = fast_group(EngineConfig::new(&kafka.bootstrap, &unique("g"), "dlq"));
    let (stop, handle) = start(config, table(routes)).await;
    let gold = input.iter().filter(|r| r.value.contains("gold")).count();
    wait_for("all deliveries", WAIT, || {
        ledger(&dir.join("by-partition.jsonl")).len() >= 2_000
            && ledger(&dir.join("by-key.jsonl")).len() >= 2_000
            && ledger(&dir.join("gold-only.jsonl")).len() >= gold
    })
    .await;
    stop.send(()).unwrap();
    handle.await.unwrap();

    let by_partition = ledger(&dir.join("by-partition.jsonl"));
    assert_eq!(by_partition.len(), 2_000);
    assert!(
        counts(&by_partition).values().all(|&c| c == 1),
        "exactly once"
    );
    for (p, offsets) in offsets_by(&by_partition, |l| l["partition"].to_string()) {
        assert_eq!(
            offsets,
            (0..500).collect::<Vec<i64>>(),
            "partition {p} in offset order"
        );
    }
    let by_key = ledger(&dir.join("by-key.jsonl"));
    assert_eq!(by_key.len(), 2_000);
    assert!(counts(&by_key).values().all(|&c| c == 1), "exactly once");
    for (key, offsets) in offsets_by(&by_key, |l| format!("{}/{}", l["partition"], l["key"])) {
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "key {key} in offset order: {offsets:?}"
        );
    }
    let gold_only = ledger(&dir.join("gold-only.jsonl"));
    assert_eq!(gold_only.len(), gold);
    assert!(counts(&gold_only).values().all(|&c| c == 1));
    // Only gold records: seq % 3 == 0 ⇔ offset within the partition maps back to seq.
    for l in &gold_only {
        let seq = l["offset"].as_i64().unwrap() * 4 + l["partition"].as_i64().unwrap();
        assert_eq!(seq % 3, 0, "{l}");
    }
}

/// Acceptance 2: a target failing N < max times delivers after retries; one always failing
/// dead-letters the record with every header; the other targets of the record are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_are_retried_then_dead_lettered_with_headers() {
    let kafka = Tansu::start();
    let topic = unique("payments");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 2).await;
    kafka.create_topic(&dlq, 1).await;
    let dir = temp_dir("retry");
    let retry = json!({"retry": {"max_attempts": 4, "initial_backoff": "10ms", "max_backoff": "50ms"}, "batch": {"max_wait": "5ms"}});
    let routes = json!([
        {"name": "pay", "topics": [topic], "targets": [
            ledger_target("flaky", &dir, json!({"fail_first": 2}), retry.clone()),
            ledger_target("picky", &dir, json!({"fail_keys": ["poison"], "permanent_keys": ["bad"]}), retry.clone()),
            ledger_target("steady", &dir, json!({}), json!({})),
        ]},
    ]);
    let mut input = records(100, 2, 7);
    input[10].key = "poison".into();
    input[11].key = "bad".into();
    input[10].headers.push(("tenant".into(), "acme".into()));
    kafka.produce(&topic, &input).await;
    let config = fast_group(EngineConfig::new(&kafka.bootstrap, &unique("g"), &dlq));
    let (stop, handle) = start(config, table(routes)).await;
    wait_for("deliveries", WAIT, || {
        ledger(&dir.join("flaky.jsonl")).len() >= 100
            && ledger(&dir.join("picky.jsonl")).len() >= 98
            && ledger(&dir.join("steady.jsonl")).len() >= 100
    })
    .await;
    let dead = kafka.read_topic(&dlq, 1, 2, WAIT);
    stop.send(()).unwrap();
    handle.await.unwrap();

    let flaky = ledger(&dir.join("flaky.jsonl"));
    assert_eq!(flaky.len(), 100);
    assert!(
        flaky.iter().all(|l| l["attempt"] == 3),
        "delivered on the third attempt"
    );
    let picky = ledger(&dir.join("picky.jsonl"));
    assert_eq!(picky.len(), 98);
    assert!(
        picky
            .iter()
            .all(|l| l["key"] != "poison" && l["key"] != "bad")
    );
    assert_eq!(
        ledger(&dir.join("steady.jsonl")).len(),
        100,
        "other targets unaffected"
    );

    assert_eq!(dead.len(), 2, "{dead:?}");
    let poison = dead
        .iter()
        .find(|d| d.key.as_deref() == Some("poison"))
        .expect("poison in DLQ");
    assert_eq!(
        poison.value.as_deref(),
        Some(input[10].value.as_str()),
        "original value"
    );
    assert_eq!(poison.header("trace"), Some("t10"), "original headers kept");
    assert_eq!(poison.header("tenant"), Some("acme"));
    assert_eq!(poison.header(headers::ROUTE), Some("pay"));
    assert_eq!(poison.header(headers::TARGET), Some("pay/picky"));
    assert_eq!(poison.header(headers::ERROR_CLASS), Some("retryable"));
    assert_eq!(poison.header(headers::ERROR_KIND), Some("function_error"));
    assert_eq!(poison.header(headers::ERROR_CODE), Some("FailKey"));
    assert_eq!(
        poison.header(headers::ERROR_MESSAGE),
        Some("key poison is configured to always fail")
    );
    assert_eq!(poison.header(headers::REASON), Some("attempts_exhausted"));
    assert_eq!(poison.header(headers::ATTEMPTS), Some("4"));
    assert_eq!(poison.header(headers::SOURCE_TOPIC), Some(topic.as_str()));
    assert_eq!(poison.header(headers::SOURCE_PARTITION), Some("0"));
    assert_eq!(poison.header(headers::SOURCE_OFFSET), Some("5"));
    let first: u128 = poison
        .header(headers::FIRST_ATTEMPT_MS)
        .unwrap()
        .parse()
        .unwrap();
    let last: u128 = poison
        .header(headers::LAST_ATTEMPT_MS)
        .unwrap()
        .parse()
        .unwrap();
    assert!(first <= last && first > 1_600_000_000_000);
    assert!(poison.header(headers::SOURCE_TIMESTAMP_MS).is_some());
    let bad = dead
        .iter()
        .find(|d| d.key.as_deref() == Some("bad"))
        .expect("bad in DLQ");
    assert_eq!(bad.header(headers::ERROR_CLASS), Some("permanent"));
    assert_eq!(bad.header(headers::ERROR_KIND), Some("invalid_payload"));
    assert_eq!(bad.header(headers::ERROR_CODE), Some("PermanentKey"));
    assert_eq!(bad.header(headers::REASON), Some("permanent_error"));
    assert_eq!(
        bad.header(headers::ATTEMPTS),
        Some("1"),
        "permanent errors are not retried"
    );
}

/// Acceptance 3: while one target is stalled, another target of the same partition delivers
/// all its records; nothing past the stalled target's first record is committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_target_does_not_delay_another() {
    let kafka = Tansu::start();
    let topic = unique("events");
    kafka.create_topic(&topic, 1).await;
    kafka.create_topic("dlq", 1).await;
    let dir = temp_dir("stall");
    let routes = json!([
        {"name": "slow", "topics": [topic], "targets": [ledger_target("stalled", &dir, json!({"stall": true}), json!({}))]},
        {"name": "fast", "topics": [topic], "targets": [ledger_target("healthy", &dir, json!({}), json!({"batch": {"max_wait": "5ms"}}))]},
    ]);
    kafka.produce(&topic, &records(500, 1, 5)).await;
    let group = unique("g");
    let config = fast_group(EngineConfig::new(&kafka.bootstrap, &group, "dlq"));
    let (stop, handle) = start(
        EngineConfig {
            drain_timeout: Duration::from_millis(200),
            ..config
        },
        table(routes),
    )
    .await;
    wait_for("healthy target delivers everything", WAIT, || {
        ledger(&dir.join("healthy.jsonl")).len() >= 500
    })
    .await;
    assert!(ledger(&dir.join("stalled.jsonl")).is_empty());
    stop.send(()).unwrap();
    handle.await.unwrap();
    assert_eq!(ledger(&dir.join("healthy.jsonl")).len(), 500);
    assert_eq!(
        kafka.committed(&group, &topic, 0),
        None,
        "nothing committed past offset 0"
    );
}

/// The total buffer cap holds across partitions: a slow target over four partitions has
/// `max_buffered_bytes_total` buffered plus only what was fetched before the partitions were
/// paused (the engine's matching pipeline, 9 batches of 64, and what librdkafka had queued),
/// far from the whole backlog; paused partitions resume as it drains.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_total_buffer_cap_pauses_every_partition_and_resumes_them() {
    let kafka = Tansu::start();
    let topic = unique("events");
    kafka.create_topic(&topic, 4).await;
    kafka.create_topic("dlq", 1).await;
    let dir = temp_dir("total-cap");
    let routes = json!([
        {"name": "slow", "topics": [topic], "targets": [ledger_target("slow", &dir, json!({"delay": "20ms"}), json!({"batch": {"max_records": 20}}))]},
    ]);
    let sent = records(8000, 4, 50);
    kafka.produce(&topic, &sent).await;
    let cap = 40_000;
    let largest = 3 * sent
        .iter()
        .map(|r| r.value.len() + r.key.len() + 20)
        .max()
        .unwrap()
        + 512;
    let config = EngineConfig {
        max_buffered_bytes_total: std::num::NonZeroUsize::new(cap).unwrap(),
        ..fast_group(EngineConfig::new(&kafka.bootstrap, &unique("g"), "dlq"))
    };
    let table = table(routes);
    let targets = build_targets(&table, "").await.unwrap();
    let engine = Engine::new(config, table, |t| targets.get(t.id.0 as usize).cloned()).unwrap();
    let stats = engine.stats();
    let (stop, handle) = spawn_engine(engine);
    let mut peak = 0;
    let deadline = std::time::Instant::now() + WAIT;
    while ledger(&dir.join("slow.jsonl")).len() < 8000 {
        assert!(
            std::time::Instant::now() < deadline,
            "slow target got {} of 8000",
            ledger(&dir.join("slow.jsonl")).len()
        );
        peak = peak.max(stats.buffered_bytes());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    stop.send(()).unwrap();
    handle.await.unwrap();
    assert!(peak > cap / 2, "the cap was reached: peak {peak}");
    let all: usize = sent.len() * largest;
    assert!(
        peak < all / 4,
        "peak {peak} over the cap {cap} (everything: {all})"
    );
    assert_eq!(
        stats.buffered_bytes(),
        0,
        "nothing left counted after the drain"
    );
    assert_eq!(counts(&ledger(&dir.join("slow.jsonl"))).len(), 8000);
}

/// Rebalance: a second dispatcher joins the group mid-run. The first gives up the revoked
/// partitions and commits, on revoke, exactly what it had finished; the second resumes each
/// from there. To see that commit (and not a later one of the second member), the second
/// member's target is down until the check is made: it holds what it reads and finishes
/// nothing. Then every record is delivered exactly once by one member or the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_joining_takes_over_partitions_without_losing_records() {
    let kafka = Tansu::start();
    let topic = unique("rebalance");
    kafka.create_topic(&topic, 4).await;
    kafka.create_topic("dlq", 1).await;
    let dir = temp_dir("rebalance");
    let group = unique("g");
    let down = dir.join("second-is-down");
    let routes = |who: &str, settings: Value| {
        json!([{"name": "r", "topics": [topic], "targets": [
            ledger_target(who, &dir, settings, json!({"batch": {"max_records": 10, "max_wait": "5ms"}})),
        ]}])
    };
    kafka.produce(&topic, &records(4_000, 4, 8)).await;
    let config = || fast_group(EngineConfig::new(&kafka.bootstrap, &group, "dlq"));
    let (stop_a, a, stats_a) =
        start_with_stats(config(), table(routes("first", json!({"delay": "20ms"})))).await;
    wait_for("first member delivers", WAIT, || {
        ledger(&dir.join("first.jsonl")).len() >= 200
    })
    .await;
    std::fs::write(&down, "").unwrap();
    let second = json!({"delay": "20ms", "down_while": down});
    let (stop_b, b, stats_b) = start_with_stats(config(), table(routes("second", second))).await;
    wait_for("the partitions are shared out", WAIT, || {
        stats_a.assigned_partitions() == 2
            && stats_b.assigned_partitions() == 2
            && stats_b.partitions().len() == 2
    })
    .await;
    let moved: Vec<i32> = stats_b.partitions().iter().map(|p| p.partition).collect();
    // What the first member finished of each moved partition: a prefix of it, in order.
    let first = ledger(&dir.join("first.jsonl"));
    for &p in &moved {
        let done: Vec<i64> = first
            .iter()
            .filter(|l| l["partition"] == p)
            .map(|l| l["offset"].as_i64().unwrap())
            .collect();
        let n = done.len() as i64;
        assert_eq!(done, (0..n).collect::<Vec<_>>(), "partition {p}");
        assert_eq!(
            kafka.committed(&group, &topic, p),
            (n > 0).then_some(n),
            "partition {p}: the commit made on revoke is what the first member finished"
        );
    }
    assert!(ledger(&dir.join("second.jsonl")).is_empty());
    std::fs::remove_file(&down).unwrap();
    let delivered = |dir: &Path| {
        let mut all = counts(&ledger(&dir.join("first.jsonl")));
        for (k, v) in counts(&ledger(&dir.join("second.jsonl"))) {
            *all.entry(k).or_insert(0) += v;
        }
        all
    };
    wait_for("every record delivered by either member", WAIT, || {
        delivered(&dir).len() >= 4_000
    })
    .await;
    stop_a.send(()).unwrap();
    stop_b.send(()).unwrap();
    a.await.unwrap();
    b.await.unwrap();
    let all = delivered(&dir);
    assert_eq!(all.len(), 4_000, "every record");
    let twice: Vec<_> = all.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "delivered more than once: {twice:?}");
    let second = ledger(&dir.join("second.jsonl"));
    for &p in &moved {
        assert!(
            second.iter().any(|l| l["partition"] == p),
            "the joining member delivered partition {p}"
        );
    }
}

/// A target whose `deliver` panics on one record (ledger `panic_keys`): the panic is caught per
/// batch, the batch is split until the record at fault panics alone, and only that record is
/// dead-lettered, as `internal_error`, after its attempts. Everything else is delivered once,
/// and the engine keeps consuming.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_panicking_on_one_record_dead_letters_only_it() {
    let kafka = Tansu::start();
    let topic = unique("panics");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 2).await;
    kafka.create_topic(&dlq, 1).await;
    let dir = temp_dir("panics");
    let routes = json!([
        {"name": "r", "topics": [topic], "targets": [
            ledger_target("fragile", &dir, json!({"panic_keys": ["boom"]}),
                json!({"retry": {"max_attempts": 3, "initial_backoff": "10ms", "max_backoff": "50ms"},
                       "batch": {"max_records": 50, "max_wait": "5ms"}})),
            ledger_target("steady", &dir, json!({}), json!({})),
        ]},
    ]);
    let mut input = records(500, 2, 7);
    input[101].key = "boom".into(); // partition 1, offset 50
    kafka.produce(&topic, &input[..400]).await;
    let config = fast_group(EngineConfig::new(&kafka.bootstrap, &unique("g"), &dlq));
    let (stop, handle, stats) = start_with_stats(config, table(routes)).await;
    wait_for("deliveries", WAIT, || {
        ledger(&dir.join("fragile.jsonl")).len() >= 399
            && ledger(&dir.join("steady.jsonl")).len() >= 400
    })
    .await;
    let dead = kafka.read_topic(&dlq, 1, 1, WAIT);
    // Still consuming after the panics.
    kafka.produce(&topic, &input[400..]).await;
    wait_for("later deliveries", WAIT, || {
        ledger(&dir.join("fragile.jsonl")).len() >= 499
            && ledger(&dir.join("steady.jsonl")).len() >= 500
    })
    .await;
    assert!(!handle.is_finished() && stats.consuming());
    stop.send(()).unwrap();
    handle.await.unwrap();

    let fragile = counts(&ledger(&dir.join("fragile.jsonl")));
    assert_eq!(fragile.len(), 499);
    assert!(
        !fragile.contains_key(&(1, 50)),
        "the marker is never delivered"
    );
    assert!(fragile.values().all(|&c| c == 1), "the others exactly once");
    let steady = counts(&ledger(&dir.join("steady.jsonl")));
    assert_eq!(steady.len(), 500);
    assert!(steady.values().all(|&c| c == 1));
    let (name, fragile_stats) = stats
        .targets()
        .find(|(n, _)| n.ends_with("fragile"))
        .unwrap();
    assert_eq!(name, "r/fragile");
    assert_eq!(fragile_stats.dead_lettered.load(Relaxed), 1);
    assert_eq!(fragile_stats.delivered.load(Relaxed), 499);

    assert_eq!(dead.len(), 1, "{dead:?}");
    let d = &dead[0];
    assert_eq!(d.key.as_deref(), Some("boom"));
    assert_eq!(d.header(headers::TARGET), Some("r/fragile"));
    assert_eq!(d.header(headers::ERROR_KIND), Some("internal_error"));
    assert_eq!(d.header(headers::ERROR_CLASS), Some("retryable"));
    assert_eq!(d.header(headers::ERROR_CODE), Some("Panic"));
    assert_eq!(
        d.header(headers::ERROR_MESSAGE),
        Some("ledger configured to panic on key \"boom\"")
    );
    assert_eq!(d.header(headers::REASON), Some("attempts_exhausted"));
    assert_eq!(d.header(headers::ATTEMPTS), Some("3"));
    assert_eq!(d.header(headers::SOURCE_PARTITION), Some("1"));
    assert_eq!(d.header(headers::SOURCE_OFFSET), Some("50"));
}

/// A target that is down (ledger `down_while`: `unavailable`) is a failure of the target, not
/// of its records: they cost no attempt and are held, never dead-lettered, and delivered in
/// order once it is back; the target shows as down meanwhile. `max_record_age` still applies:
/// a held record older than that is dead-lettered as `record_too_old` (with 0 attempts),
/// except under `on_failure: block`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_target_holds_its_records_unless_they_are_too_old() {
    let kafka = Tansu::start();
    let topic = unique("down");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 1).await;
    kafka.create_topic(&dlq, 1).await;
    let dir = temp_dir("down");
    let down = dir.join("is-down");
    std::fs::write(&down, "").unwrap();
    let retry = |extra: Value| {
        let mut d =
            json!({"retry": {"max_attempts": 2, "initial_backoff": "1ms", "max_backoff": "20ms"}});
        for (k, v) in extra.as_object().unwrap() {
            if k == "max_record_age" {
                d["retry"][k] = v.clone();
            } else {
                d[k] = v.clone();
            }
        }
        d
    };
    let routes = json!([
        {"name": "held", "topics": [topic], "targets": [
            ledger_target("waiting", &dir, json!({"down_while": down}), retry(json!({}))),
            ledger_target("blocking", &dir, json!({"down_while": down}),
                retry(json!({"on_failure": "block", "max_record_age": "1ms"}))),
            ledger_target("aging", &dir, json!({"down_while": down}), retry(json!({"max_record_age": "1ms"}))),
        ]},
    ]);
    kafka.produce(&topic, &records(20, 1, 4)).await;
    let config = fast_group(EngineConfig::new(&kafka.bootstrap, &unique("g"), &dlq));
    let (stop, handle, stats) = start_with_stats(config, table(routes)).await;
    let dead = kafka.read_topic(&dlq, 1, 20, WAIT);
    let up = |name: &str| {
        stats
            .health()
            .find(|h| h.name() == name)
            .map(|h| h.is_up())
            .unwrap()
    };
    assert!(!up("held/waiting") && !up("held/blocking"), "shown down");
    assert!(ledger(&dir.join("waiting.jsonl")).is_empty());
    assert!(ledger(&dir.join("blocking.jsonl")).is_empty());
    std::fs::remove_file(&down).unwrap();
    wait_for("held records delivered", WAIT, || {
        ledger(&dir.join("waiting.jsonl")).len() >= 20
            && ledger(&dir.join("blocking.jsonl")).len() >= 20
    })
    .await;
    assert!(up("held/waiting") && up("held/blocking"), "up again");
    let late = kafka.read_topic(&dlq, 1, 20, Duration::from_secs(10));
    stop.send(()).unwrap();
    handle.await.unwrap();

    for name in ["waiting", "blocking"] {
        let lines = ledger(&dir.join(format!("{name}.jsonl")));
        let offsets: Vec<i64> = lines
            .iter()
            .map(|l| l["offset"].as_i64().unwrap())
            .collect();
        assert_eq!(
            offsets,
            (0..20).collect::<Vec<_>>(),
            "{name}: once each, in order"
        );
        assert!(
            lines.iter().all(|l| l["attempt"] == 1),
            "{name}: no attempt spent while down"
        );
    }
    assert!(ledger(&dir.join("aging.jsonl")).is_empty());
    assert_eq!(
        late.len(),
        20,
        "nothing more dead-lettered once the target was back"
    );
    assert_eq!(dead.len(), 20, "only the aging target's records");
    let mut offsets: Vec<&str> = Vec::new();
    for d in &dead {
        assert_eq!(d.header(headers::TARGET), Some("held/aging"));
        assert_eq!(d.header(headers::REASON), Some("record_too_old"));
        assert_eq!(d.header(headers::ERROR_KIND), Some("unavailable"));
        assert_eq!(d.header(headers::ATTEMPTS), Some("0"));
        offsets.push(d.header(headers::SOURCE_OFFSET).unwrap());
    }
    let want: Vec<String> = (0..20).map(|o| o.to_string()).collect();
    assert_eq!(offsets, want, "in offset order");
}

/// `on_failure: block` retries past `max_attempts` instead of dead-lettering; `max_record_age`
/// stops retrying records older than the limit and dead-letters them as `record_too_old`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn block_keeps_retrying_and_max_record_age_gives_up_on_old_records() {
    let kafka = Tansu::start();
    let topic = unique("policies");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 1).await;
    kafka.create_topic(&dlq, 1).await;
    let dir = temp_dir("policies");
    let routes = json!([
        {"name": "strict", "topics": [topic], "targets": [ledger_target("blocking", &dir, json!({"fail_first": 4}),
            json!({"on_failure": "block", "retry": {"max_attempts": 2, "initial_backoff": "1ms", "max_backoff": "5ms"}}))]},
        {"name": "fresh", "topics": [topic], "targets": [ledger_target("aging", &dir, json!({"fail_keys": ["k0"]}),
            json!({"retry": {"max_attempts": 1000, "initial_backoff": "1ms", "max_backoff": "5ms", "max_record_age": "1ms"}}))]},
    ]);
    kafka.produce(&topic, &records(20, 1, 4)).await;
    let config = fast_group(EngineConfig::new(&kafka.bootstrap, &unique("g"), &dlq));
    let (stop, handle) = start(config, table(routes)).await;
    wait_for("deliveries", WAIT, || {
        ledger(&dir.join("blocking.jsonl")).len() >= 20
            && ledger(&dir.join("aging.jsonl")).len() >= 15
    })
    .await;
    let dead = kafka.read_topic(&dlq, 1, 5, WAIT);
    stop.send(()).unwrap();
    handle.await.unwrap();

    let blocking = ledger(&dir.join("blocking.jsonl"));
    assert_eq!(blocking.len(), 20);
    assert!(
        blocking.iter().all(|l| l["attempt"] == 5),
        "delivered on attempt 5, past max_attempts 2"
    );
    assert_eq!(ledger(&dir.join("aging.jsonl")).len(), 15);
    assert_eq!(
        dead.len(),
        5,
        "only the aging target's k0 records are dead-lettered"
    );
    for d in &dead {
        assert_eq!(d.key.as_deref(), Some("k0"));
        assert_eq!(d.header(headers::TARGET), Some("fresh/aging"));
        assert_eq!(d.header(headers::REASON), Some("record_too_old"));
        assert_eq!(d.header(headers::ATTEMPTS), Some("1"));
    }
}
