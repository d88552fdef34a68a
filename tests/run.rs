//! `fanout run`: bad configuration fails fast (exit 2, a message naming the problem) before
//! consuming anything; a running dispatcher serves metrics and health.

mod support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{Tansu, TestRecord, free_port, ledger, temp_dir, unique};

fn run(config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(["run", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes a config and a routes dir; returns the config path.
fn setup(
    dir: &Path,
    bootstrap: &str,
    dlq: &str,
    extra: &str,
    route: serde_json::Value,
) -> std::path::PathBuf {
    let routes = dir.join("routes");
    std::fs::create_dir_all(&routes).unwrap();
    std::fs::write(
        routes.join("r.json"),
        json!({"routes": [route]}).to_string(),
    )
    .unwrap();
    let config = dir.join("fanout.yaml");
    std::fs::write(
        &config,
        format!(
            "kafka:\n  bootstrap_servers: {bootstrap}\n  group_id: {}\n  properties:\n    session.timeout.ms: 2000\n    heartbeat.interval.ms: 500\n    sasl.password: hunter2\ndlq:\n  topic: {dlq}\n{extra}",
            unique("g")
        ),
    )
    .unwrap();
    config
}

fn ledger_route(topic: &str, dir: &Path) -> serde_json::Value {
    json!({"name": "r", "topics": [topic], "targets": [{"custom": {"name": "l", "kind": "ledger", "settings": {"path": dir.join("l.jsonl")}}}]})
}

#[test]
fn unknown_config_field_exits_2_naming_it() {
    let dir = temp_dir("run-unknown");
    let config = setup(
        &dir,
        "127.0.0.1:1",
        "dlq",
        "colour: red\n",
        ledger_route("t", &dir),
    );
    let out = run(&config);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("fanout.yaml:10:1: colour: unknown field `colour`"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "secrets are never printed");
}

#[test]
fn bad_pattern_exits_2_naming_route_and_field() {
    let dir = temp_dir("run-pattern");
    let mut route = ledger_route("t", &dir);
    route["filters"] = json!([{"pattern": {"value": {"amount": [{"numeric": [">>", 1]}]}}}]);
    let config = setup(&dir, "127.0.0.1:1", "dlq", "", route);
    let out = run(&config);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("route `r` field `filters[0].pattern`: at $.value.amount[0].numeric[0]"),
        "{err}"
    );
}

#[test]
fn unreachable_broker_exits_2() {
    let dir = temp_dir("run-unreachable");
    let port = free_port(); // nothing listens there
    let config = setup(
        &dir,
        &format!("127.0.0.1:{port}"),
        "dlq",
        "",
        ledger_route("t", &dir),
    );
    let started = Instant::now();
    let out = run(&config);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("cannot reach Kafka at 127.0.0.1:{port}")),
        "{}",
        stderr(&out)
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_dlq_topic_exits_2() {
    let kafka = Tansu::start();
    let topic = unique("src");
    kafka.create_topic(&topic, 1).await;
    let dir = temp_dir("run-dlq");
    let config = setup(
        &dir,
        &kafka.bootstrap,
        "no-such-dlq",
        "",
        ledger_route(&topic, &dir),
    );
    let out = run(&config);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("DLQ topic `no-such-dlq` does not exist"),
        "{}",
        stderr(&out)
    );
}

fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The value of a metric line whose name and labels contain all of `parts`.
fn metric(text: &str, parts: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#') && parts.iter().all(|p| l.contains(p)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_metrics_and_health_while_running() {
    let kafka = Tansu::start();
    let topic = unique("metered");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 2).await;
    kafka.create_topic(&dlq, 1).await;
    let dir = temp_dir("run-metrics");
    let port = free_port();
    let route = json!({"name": "r", "topics": [topic], "targets": [
        {"custom": {"name": "ok", "kind": "ledger", "settings": {"path": dir.join("ok.jsonl")}}},
        {"custom": {"name": "bad", "kind": "ledger", "settings": {"path": dir.join("bad.jsonl"), "fail_keys": ["k0"]},
                    "delivery": {"retry": {"max_attempts": 2, "initial_backoff": "1ms", "max_backoff": "2ms"}}}}
    ]});
    let config = setup(
        &dir,
        &kafka.bootstrap,
        &dlq,
        &format!("metrics:\n  address: 127.0.0.1:{port}\nengine:\n  commit_interval: 100ms\n"),
        route,
    );
    let records: Vec<TestRecord> = (0..200)
        .map(|i| TestRecord {
            partition: i % 2,
            key: format!("k{}", i % 10),
            value: json!({"i": i}).to_string(),
            headers: vec![],
        })
        .collect();
    kafka.produce(&topic, &records).await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(["run", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        assert!(
            Instant::now() < deadline,
            "metrics never showed the deliveries"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
            || ledger(&dir.join("ok.jsonl")).len() < 200
        {
            continue;
        }
        let (_, body) = http_get(port, "/metrics");
        if metric(&body, &["fanout_dead_lettered_total"]) >= 20.0
            && metric(&body, &["fanout_committed_offset"]) > 0.0
        {
            break body;
        }
    };
    assert_eq!(http_get(port, "/healthz").0, 200);
    assert_eq!(http_get(port, "/readyz").0, 200);
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert_eq!(child.wait().unwrap().code(), Some(0));

    assert_eq!(
        metric(&body, &["fanout_records_consumed_total", &topic]),
        200.0
    );
    assert_eq!(
        metric(&body, &["fanout_records_matched_total", "route=\"r\""]),
        200.0
    );
    assert_eq!(
        metric(
            &body,
            &[
                "fanout_deliveries_total",
                "target=\"r/ok\"",
                "outcome=\"delivered\""
            ]
        ),
        200.0
    );
    assert_eq!(
        metric(
            &body,
            &[
                "fanout_deliveries_total",
                "target=\"r/bad\"",
                "outcome=\"delivered\""
            ]
        ),
        180.0
    );
    assert_eq!(
        metric(
            &body,
            &[
                "fanout_dead_lettered_total",
                "target=\"r/bad\"",
                "error_kind=\"function_error\""
            ]
        ),
        20.0
    );
    assert!(metric(&body, &["fanout_retries_total", "target=\"r/bad\""]) >= 20.0);
    assert!(metric(&body, &["fanout_batch_records_count", "target=\"r/ok\""]) > 0.0);
    assert!(
        metric(
            &body,
            &["fanout_attempt_duration_seconds_count", "target=\"r/ok\""]
        ) > 0.0
    );
    assert!(body.contains("fanout_in_flight_records{"), "{body}");
    assert!(body.contains("fanout_committed_offset{"), "{body}");
}
