//! Issue 14, acceptance 2: a broken target holds its records, never dead-letters them, shows as
//! down, and delivers everything it held, in order, once it works, without a restart; the
//! other targets of the same partitions deliver everything meanwhile.
//!
//! The `fanout` binary runs against a tansu broker, cargo-lambda and moto with five targets on
//! one route over two partitions: a ledger and a Lambda function that work, a Lambda function
//! that does not exist (cargo-lambda answers 404), an EventBridge bus that does not exist
//! (moto answers `ResourceNotFoundException`), and an EventBridge endpoint that refuses the
//! credentials (a proxy answering `UnrecognizedClientException`). After 60 s of traffic the
//! function and the bus are created, then the proxy starts forwarding.

#[path = "../crates/eventbridge/tests/support/mod.rs"]
mod eventbridge_support;
#[path = "support/lambda.rs"]
mod lambda_support;
#[path = "support/proxy.rs"]
mod proxy;
// `tests/support` is compiled once, inside the EventBridge support.
use eventbridge_support::kafka as support;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use eventbridge_support::Moto;
use lambda_support::{LambdaStack, read_until_quiet, records_of};
use proxy::{Mode, Proxy};
use rdkafka::producer::FutureRecord;
use serde_json::{Value, json};
use support::{Tansu, free_port, ledger, temp_dir, unique};

const PARTITIONS: i32 = 2;
/// The traffic window the issue asks for.
const TRAFFIC: Duration = Duration::from_secs(60);
/// Records per partition produced per tick of the traffic window.
const TICK: Duration = Duration::from_millis(250);
const WAIT: Duration = Duration::from_secs(90);

const HEALTHY: [&str; 2] = ["r/ledger", "r/alive"];
const BROKEN: [&str; 3] = ["r/ghost", "r/nobus", "r/badcreds"];

/// A `fanout run` process, SIGKILLed if the test ends without stopping it.
struct Fanout {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

impl Fanout {
    fn start(config: &Path, env: &[(&str, &str)], log: PathBuf, port: u16) -> Fanout {
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_fanout"))
            .args(["run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Fanout {
            child: Some(child),
            port,
            log,
        }
    }

    /// `GET path`: status and body; `None` while nothing listens.
    fn get(&self, path: &str) -> Option<(u16, String)> {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut text = String::new();
        s.read_to_string(&mut text).ok()?;
        let status = text.split_whitespace().nth(1)?.parse().ok()?;
        let (_, body) = text.split_once("\r\n\r\n")?;
        Some((status, body.to_owned()))
    }

    fn metrics(&self) -> String {
        self.get("/metrics").expect("/metrics answers").1
    }

    fn status(&self) -> Value {
        let (code, body) = self.get("/status").expect("/status answers");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).expect("/status is JSON")
    }

    /// The `/status` entry of target `name`.
    fn target(&self, name: &str) -> Value {
        let status = self.status();
        status["targets"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no target {name} in {status}"))
            .clone()
    }

    fn check_running(&mut self) {
        if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
            panic!("fanout exited ({status}); see {}", self.log.display());
        }
    }

    /// SIGTERM; the exit code.
    fn stop(mut self) -> Option<i32> {
        let mut child = self.child.take().unwrap();
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        child.wait().unwrap().code()
    }
}

impl Drop for Fanout {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The sum of the samples of metric `name` whose labels contain every one of `labels`.
fn metric(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let matches_name = series == name || series.starts_with(&format!("{name}{{"));
        if matches_name && labels.iter().all(|l| series.contains(l)) {
            *found.get_or_insert(0.0) += value.parse::<f64>().unwrap();
        }
    }
    found
}

/// `fanout_target_up` of each target, as `/metrics` shows it.
fn target_up(text: &str, target: &str) -> Option<f64> {
    metric(text, "fanout_target_up", &[&format!("target=\"{target}\"")])
}

/// Asserts each of `targets` shows `up` in `/metrics` and `/status`.
fn assert_up(fanout: &Fanout, targets: &[&str], up: bool) {
    let metrics = fanout.metrics();
    for t in targets {
        let want = if up { 1.0 } else { 0.0 };
        assert_eq!(
            target_up(&metrics, t),
            Some(want),
            "fanout_target_up of {t}"
        );
        assert_eq!(fanout.target(t)["up"], json!(up), "/status of {t}");
    }
}

/// `text` without ANSI colour codes.
fn plain(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            chars.by_ref().find(|c| c.is_ascii_alphabetic());
        } else {
            out.push(c);
        }
    }
    out
}

/// Per partition, the `seq` of each value in `details`, in order.
fn by_partition(details: &[Value]) -> BTreeMap<i64, Vec<i64>> {
    let mut m = BTreeMap::<i64, Vec<i64>>::new();
    for d in details {
        m.entry(d["partition"].as_i64().unwrap())
            .or_default()
            .push(d["seq"].as_i64().unwrap());
    }
    m
}

/// `0..n` for every partition: each record once, in offset order.
fn every_record(n: i64) -> BTreeMap<i64, Vec<i64>> {
    (0..i64::from(PARTITIONS))
        .map(|p| (p, (0..n).collect()))
        .collect()
}

/// The ledger's and the recorder's deliveries, per partition, as offsets in order.
fn healthy_deliveries(ledger_file: &Path, alive_file: &Path) -> [BTreeMap<i64, Vec<i64>>; 2] {
    let offsets = |lines: Vec<Value>| {
        let mut m = BTreeMap::<i64, Vec<i64>>::new();
        for l in lines {
            m.entry(l["partition"].as_i64().unwrap())
                .or_default()
                .push(l["offset"].as_i64().unwrap());
        }
        m
    };
    [
        offsets(ledger(ledger_file)),
        offsets(records_of(alive_file)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_targets_hold_their_records_and_deliver_them_once_fixed() {
    let kafka = Tansu::start();
    let moto = Moto::start().await;
    // Only `recorder` is a function until `ghost` is created.
    let mut lambdas = LambdaStack::start_with_names(&["recorder"]);
    let alive_file = lambdas.file("alive.jsonl");
    lambdas.function(
        "recorder",
        &[("RECORDER_FILE", alive_file.to_str().unwrap())],
    );
    let topic = unique("orders");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, PARTITIONS).await;
    kafka.create_topic(&dlq, 1).await;
    // `nobus` goes to moto through a forwarding proxy (which logs what the bus accepted); its
    // bus does not exist yet. `badcreds` goes to an existing bus through a proxy that refuses
    // the credentials.
    let (missing_bus, bus) = (unique("missing-bus"), unique("bus"));
    moto.create_bus(&bus).await;
    let pattern = json!({"source": ["fanout.orders"]});
    let creds_queue = moto.rule_to_queue(&bus, &pattern).await;
    let to_missing_bus = Proxy::start(&moto.url, Mode::Forward).await;
    let bad_creds = Proxy::start(&moto.url, Mode::unrecognized_client()).await;

    let dir = temp_dir("target-down");
    let ledger_file = dir.join("ledger.jsonl");
    let delivery = json!({"batch": {"max_wait": "50ms"},
        "retry": {"max_attempts": 3, "initial_backoff": "100ms", "max_backoff": "1s"}});
    let event = |name: &str, bus: &str, endpoint: &str| {
        json!({"eventbridge": {"name": name, "bus": bus, "source": "fanout.orders",
            "detail_type": "Order", "endpoint_url": endpoint, "delivery": delivery}})
    };
    let routes = json!({"routes": [{"name": "r", "topics": [topic], "targets": [
        {"custom": {"name": "ledger", "kind": "ledger", "settings": {"path": ledger_file}}},
        {"lambda": {"name": "alive", "function": "recorder", "delivery": delivery}},
        {"lambda": {"name": "ghost", "function": "ghost", "delivery": delivery}},
        event("nobus", &missing_bus, &to_missing_bus.url),
        event("badcreds", &bus, &bad_creds.url),
    ]}]});
    std::fs::create_dir_all(dir.join("routes")).unwrap();
    std::fs::write(dir.join("routes/routes.json"), routes.to_string()).unwrap();
    let group = unique("g");
    let port = free_port();
    let config = dir.join("fanout.yaml");
    std::fs::write(
        &config,
        format!(
            "kafka:\n  bootstrap_servers: {}\n  group_id: {group}\n  properties:\n    session.timeout.ms: 2000\n    heartbeat.interval.ms: 500\ndlq:\n  topic: {dlq}\nmetrics:\n  address: 127.0.0.1:{port}\nengine:\n  commit_interval: 100ms\n",
            kafka.bootstrap
        ),
    )
    .unwrap();
    let mut fanout = Fanout::start(
        &config,
        &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("AWS_ENDPOINT_URL_LAMBDA", &lambdas.endpoint),
            ("AWS_ENDPOINT_URL_EVENTBRIDGE", &moto.url),
        ],
        dir.join("fanout.log"),
        port,
    );
    let deadline = Instant::now() + WAIT;
    while fanout.get("/readyz").map(|(code, _)| code) != Some(200) {
        fanout.check_running();
        assert!(Instant::now() < deadline, "fanout not ready");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 60 s of traffic: every tick one record per partition. Every 10 s: the broken targets
    // are down, the healthy ones up, nothing is dead-lettered.
    let producer = kafka.producer();
    let started = Instant::now();
    let mut produced: i64 = 0;
    let mut next_check = started + Duration::from_secs(10);
    while started.elapsed() < TRAFFIC {
        for p in 0..PARTITIONS {
            let value = json!({"seq": produced, "partition": p}).to_string();
            let key = format!("k{produced}");
            let record = FutureRecord::to(&topic)
                .partition(p)
                .key(&key)
                .payload(&value);
            producer
                .send(record, Duration::from_secs(10))
                .await
                .expect("produce");
        }
        produced += 1;
        if Instant::now() >= next_check {
            fanout.check_running();
            assert_up(&fanout, &BROKEN, false);
            assert_up(&fanout, &HEALTHY, true);
            let metrics = fanout.metrics();
            let dead = metric(&metrics, "fanout_dead_lettered_total", &[]).unwrap_or(0.0);
            assert_eq!(dead, 0.0, "nothing dead-lettered");
            next_check += Duration::from_secs(10);
        }
        tokio::time::sleep(TICK).await;
    }

    // The healthy targets delivered everything, once, in order; the broken ones nothing.
    let deadline = Instant::now() + WAIT;
    while healthy_deliveries(&ledger_file, &alive_file)
        != [every_record(produced), every_record(produced)]
    {
        fanout.check_running();
        assert!(
            Instant::now() < deadline,
            "healthy targets did not deliver all {produced} records per partition"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_up(&fanout, &BROKEN, false);
    assert_up(&fanout, &HEALTHY, true);
    let expected_errors = [
        ("r/ghost", "not_found"),
        ("r/nobus", "not_found"),
        ("r/badcreds", "access_denied"),
    ];
    for (name, kind) in expected_errors {
        let t = fanout.target(name);
        assert_eq!(t["last_error"]["kind"], kind, "{t}");
        assert!(t["down_since_ms"].as_u64().is_some(), "{t}");
        assert_eq!(
            (&t["delivered"], &t["dead_lettered"]),
            (&json!(0), &json!(0)),
            "{t}"
        );
    }
    assert_eq!(
        fanout.target("r/nobus")["last_error"]["code"],
        "ResourceNotFoundException"
    );
    let creds = fanout.target("r/badcreds")["last_error"].clone();
    assert_eq!(creds["code"], "UnrecognizedClientException");
    assert_eq!(
        creds["message"],
        "The security token included in the request is invalid."
    );
    for p in 0..PARTITIONS {
        assert_eq!(
            kafka.committed(&group, &topic, p),
            None,
            "nothing is committed past the held records of partition {p}"
        );
    }
    let metrics = fanout.metrics();
    assert_eq!(
        metric(&metrics, "fanout_dead_lettered_total", &[]).unwrap_or(0.0),
        0.0
    );
    assert!(
        read_until_quiet(&kafka, &dlq, 1, Duration::from_secs(3))
            .await
            .is_empty(),
        "nothing dead-lettered"
    );
    assert!(to_missing_bus.accepted().is_empty() && bad_creds.accepted().is_empty());

    // Create the function (a process first, then the name) and the bus with its rule (the
    // proxy answers "no such bus" itself until the rule is in place, so that nothing reaches
    // the bus before the rule would see it).
    let ghost_file = lambdas.file("ghost.jsonl");
    lambdas.function_as(
        "recorder",
        "ghost",
        &[("RECORDER_FILE", ghost_file.to_str().unwrap())],
    );
    lambdas.create_function("ghost");
    to_missing_bus.set_mode(Mode::bus_not_found(&missing_bus));
    moto.create_bus(&missing_bus).await;
    let bus_queue = moto.rule_to_queue(&missing_bus, &pattern).await;
    to_missing_bus.set_mode(Mode::Forward);

    let deadline = Instant::now() + WAIT;
    while records_of(&ghost_file).len() < 2 * produced as usize
        || to_missing_bus.accepted().len() < 2 * produced as usize
    {
        fanout.check_running();
        assert!(
            Instant::now() < deadline,
            "the created function and bus did not get the held records"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_up(&fanout, &["r/ghost", "r/nobus"], true);
    assert_up(&fanout, &["r/badcreds"], false);

    // The credentials are accepted again.
    bad_creds.set_mode(Mode::Forward);
    let deadline = Instant::now() + WAIT;
    while bad_creds.accepted().len() < 2 * produced as usize {
        fanout.check_running();
        assert!(Instant::now() < deadline, "badcreds did not deliver");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_up(&fanout, &BROKEN, true);
    assert_up(&fanout, &HEALTHY, true);

    // Every held record delivered once, in order per partition, nothing dead-lettered.
    let ghost: Vec<Value> = records_of(&ghost_file)
        .iter()
        .map(|l| json!({"partition": l["partition"], "seq": l["offset"]}))
        .collect();
    assert_eq!(by_partition(&ghost), every_record(produced), "ghost");
    assert_eq!(
        by_partition(&to_missing_bus.accepted()),
        every_record(produced),
        "nobus"
    );
    assert_eq!(
        by_partition(&bad_creds.accepted()),
        every_record(produced),
        "badcreds"
    );
    let n = 2 * produced as usize;
    for (queue, name) in [(&bus_queue, "nobus"), (&creds_queue, "badcreds")] {
        let events = moto.receive(queue, n, WAIT).await;
        let mut details: Vec<Value> = events.iter().map(|e| e["detail"].clone()).collect();
        details.sort_by_key(|d| (d["partition"].as_i64(), d["seq"].as_i64()));
        assert_eq!(
            by_partition(&details),
            every_record(produced),
            "{name} reached its rule"
        );
    }
    assert_eq!(
        healthy_deliveries(&ledger_file, &alive_file),
        [every_record(produced), every_record(produced)],
        "the healthy targets got nothing twice"
    );
    let metrics = fanout.metrics();
    assert_eq!(
        metric(&metrics, "fanout_dead_lettered_total", &[]).unwrap_or(0.0),
        0.0
    );
    for name in BROKEN {
        let t = fanout.target(name);
        assert_eq!(t["delivered"], json!(n), "{t}");
        assert_eq!(t["dead_lettered"], json!(0), "{t}");
        assert_eq!(t["down_since_ms"], Value::Null, "{t}");
    }
    let log = fanout.log.clone();
    assert_eq!(fanout.stop(), Some(0), "SIGTERM stops fanout cleanly");
    // One log line per change of state, not one per attempt.
    let log = plain(&std::fs::read_to_string(log).unwrap());
    for name in BROKEN.iter().chain(&HEALTHY) {
        let lines = |level: &str, what: &str| {
            log.lines()
                .filter(|l| l.contains(level) && l.contains(what))
                .filter(|l| l.contains(&format!("target={name} ")))
                .count()
        };
        let changes = usize::from(BROKEN.contains(name));
        assert_eq!(
            lines("ERROR", ""),
            changes,
            "{name}: only the change:\n{log}"
        );
        assert_eq!(lines("ERROR", "target is down"), changes, "{name}:\n{log}");
        assert_eq!(
            lines("WARN", "target is up again"),
            changes,
            "{name}:\n{log}"
        );
    }
    assert!(
        read_until_quiet(&kafka, &dlq, 1, Duration::from_secs(3))
            .await
            .is_empty(),
        "nothing dead-lettered"
    );
    for p in 0..PARTITIONS {
        assert_eq!(
            kafka.committed(&group, &topic, p),
            Some(produced),
            "partition {p} committed to its end"
        );
    }
}
