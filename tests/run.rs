//! `fanout run`: bad configuration fails fast (exit 2, a message naming the problem) before
//! consuming anything; a running dispatcher serves metrics and health.

#[path = "support/fanout.rs"]
mod fanout_run;
mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use fanout_run::{Fanout, http_get, metric};
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
    // Killed when dropped, should an assertion fail while it runs.
    let fanout = Fanout::start(&config, &dir.join("fanout.log"), port);
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        assert!(
            Instant::now() < deadline,
            "metrics never showed the deliveries and both partitions committed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
            || ledger(&dir.join("ok.jsonl")).len() < 200
        {
            continue;
        }
        let (_, body) = http_get(port, "/metrics");
        // Both partitions' confirmed commits at their ends (100 + 100).
        if metric(&body, &["fanout_dead_lettered_total"]) >= 20.0
            && metric(&body, &["fanout_committed_offset"]) == 200.0
        {
            break body;
        }
    };
    assert_eq!(http_get(port, "/healthz").0, 200);
    assert_eq!(http_get(port, "/readyz").0, 200);
    let (code, status) = http_get(port, "/status");
    assert_eq!(code, 200);
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(fanout.stop(), Some(0));

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

    // /status: both targets up (a function error is the record's fault, not the target's),
    // their counters, the last error, no failing DLQ lane, both partitions committed.
    assert_eq!(status["consuming"], true, "{status}");
    assert_eq!(status["assigned_partitions"], 2);
    let targets = status["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 2, "{status}");
    let ok = targets.iter().find(|t| t["name"] == "r/ok").unwrap();
    assert_eq!(ok["up"], true);
    assert_eq!(ok["delivered"], 200);
    assert_eq!(ok["dead_lettered"], 0);
    assert_eq!(ok["last_error"], serde_json::Value::Null);
    let bad = targets.iter().find(|t| t["name"] == "r/bad").unwrap();
    assert_eq!(bad["up"], true, "{bad}");
    assert_eq!(bad["delivered"], 180);
    assert_eq!(bad["dead_lettered"], 20);
    assert_eq!(bad["last_error"]["kind"], "function_error", "{bad}");
    assert_eq!(bad["last_error"]["code"], "FailKey");
    assert_eq!(status["dlq"]["failing_lanes"], json!([]));
    let partitions = status["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 2, "{status}");
    for p in partitions {
        assert_eq!(p["topic"], topic.as_str());
        assert_eq!(p["committed"], 100, "{p}");
        assert_eq!(p["in_flight"], 0, "{p}");
    }
}
