//! Acceptance 4 of the delivery engine: the `fanout run` process is killed with SIGKILL
//! mid-run several times and restarted; afterwards every (record, target) pair was delivered
//! at least once. Duplicates (re-deliveries after a crash, which at-least-once allows) are
//! counted and reported.

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use serde_json::json;
use support::{Tansu, TestRecord, temp_dir, unique};

const RECORDS: usize = 20_000;
const PARTITIONS: i32 = 4;

fn spawn_fanout(config: &Path, log: &Path) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("start fanout run")
}

/// Times `fanout run` is SIGKILLed.
const KILLS: usize = 3;

/// The ledger lines of a target whose process was SIGKILLed: a kill can tear the line being
/// written (the ledger starts a new line when reopened; those records were not acknowledged and
/// come again), at most one per kill. Every other line is JSON.
fn ledger(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let complete: Vec<&str> = text
        .split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .collect();
    let lines: Vec<Value> = complete
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let torn = complete.len() - lines.len();
    assert!(
        torn <= KILLS,
        "{torn} ledger lines are not JSON in {}",
        path.display()
    );
    lines
}

fn distinct(path: &Path) -> HashSet<(i64, i64)> {
    ledger(path)
        .iter()
        .map(|l| {
            (
                l["partition"].as_i64().unwrap(),
                l["offset"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_and_restart_loses_nothing() {
    let kafka = Tansu::start();
    let topic = unique("crash");
    let dlq = unique("crash-dlq");
    kafka.create_topic(&topic, PARTITIONS).await;
    kafka.create_topic(&dlq, 1).await;
    let dir = temp_dir("crash");
    let routes = dir.join("routes");
    std::fs::create_dir_all(&routes).unwrap();
    let ledger_a = dir.join("a.jsonl");
    let ledger_b = dir.join("b.jsonl");
    let route_file = json!({"routes": [{
        "name": "crashy",
        "topics": [topic],
        "targets": [
            {"custom": {"name": "a", "kind": "ledger", "settings": {"path": ledger_a, "delay": "2ms"},
                        "delivery": {"batch": {"max_records": 50, "max_wait": "5ms"}}}},
            {"custom": {"name": "b", "kind": "ledger", "settings": {"path": ledger_b, "delay": "3ms"},
                        "delivery": {"ordering": "key", "concurrency": 2, "batch": {"max_records": 20, "max_wait": "5ms"}}}}
        ]
    }]});
    std::fs::write(routes.join("crash.json"), route_file.to_string()).unwrap();
    let group = unique("crash-group");
    let config = dir.join("fanout.yaml");
    std::fs::write(
        &config,
        format!(
            "kafka:\n  bootstrap_servers: {}\n  group_id: {}\n  properties:\n    session.timeout.ms: 2000\n    heartbeat.interval.ms: 500\ndlq:\n  topic: {dlq}\nroutes: routes\nengine:\n  commit_interval: 100ms\n",
            kafka.bootstrap, group
        ),
    )
    .unwrap();
    let input: Vec<TestRecord> = (0..RECORDS)
        .map(|i| TestRecord {
            partition: (i % PARTITIONS as usize) as i32,
            key: format!("k{}", i % 13),
            value: json!({"seq": i}).to_string(),
            headers: vec![],
        })
        .collect();
    kafka.produce(&topic, &input).await;
    let log = dir.join("fanout.log");

    // Kill it mid-run three times, each time after it made some progress.
    for round in 1..=KILLS {
        let before = ledger(&ledger_a).len();
        let mut child = spawn_fanout(&config, &log);
        let deadline = Instant::now() + Duration::from_secs(60);
        while ledger(&ledger_a).len() < before + 1_500 {
            assert!(
                Instant::now() < deadline,
                "round {round}: no progress; see {}",
                log.display()
            );
            assert!(
                child.try_wait().unwrap().is_none(),
                "fanout exited early; see {}",
                log.display()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(
            distinct(&ledger_a).len() < RECORDS,
            "round {round} killed before the end"
        );
    }

    // Restart and let it finish, then stop it gracefully.
    let mut child = spawn_fanout(&config, &log);
    let deadline = Instant::now() + Duration::from_secs(120);
    while distinct(&ledger_a).len() < RECORDS || distinct(&ledger_b).len() < RECORDS {
        assert!(
            Instant::now() < deadline,
            "did not finish; see {}",
            log.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        child.wait().unwrap().code(),
        Some(0),
        "graceful stop exits 0"
    );

    let all: HashSet<(i64, i64)> = (0..PARTITIONS as i64)
        .flat_map(|p| (0..(RECORDS as i64 / PARTITIONS as i64)).map(move |o| (p, o)))
        .collect();
    for (name, path) in [("a", &ledger_a), ("b", &ledger_b)] {
        let lines = ledger(path).len();
        let got = distinct(path);
        let missing: Vec<_> = all.difference(&got).take(10).collect();
        assert!(
            missing.is_empty(),
            "target {name} is missing records, e.g. {missing:?}"
        );
        println!(
            "target {name}: {RECORDS} records, {lines} deliveries, {} duplicates after 3 SIGKILLs",
            lines - RECORDS
        );
    }
    for p in 0..PARTITIONS {
        let end = RECORDS as i64 / PARTITIONS as i64;
        assert_eq!(
            kafka.committed(&group, &topic, p),
            Some(end),
            "graceful stop commits everything"
        );
    }
    // Read the DLQ until it is quiet: nothing failed, so nothing is dead-lettered.
    let dead = kafka.read_topic(&dlq, 1, 0, Duration::from_secs(30));
    assert_eq!(dead.len(), 0, "nothing failed, so nothing is dead-lettered");
}
