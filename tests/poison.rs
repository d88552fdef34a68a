//! Issue 14, acceptance 1: a poison record is dead-lettered alone, with its own error, and
//! takes no healthy record with it.
//!
//! 200 records on one partition, the one at offset 100 poison (`"poison": true`). Against a
//! tansu broker and either cargo-lambda running the real `poison` test function (it fails any
//! invocation carrying a poison record, naming it, and records every record it receives) or
//! moto's EventBridge behind a proxy that refuses a `PutEvents` request carrying the poison
//! record as too large (HTTP 413, a record failure). In every case: exactly one DLQ record
//! (offset 100, with the failure of that record), the other 199 delivered once each, in
//! order, and nothing sent more than once per bisection level.

#[path = "../crates/eventbridge/tests/support/mod.rs"]
mod eventbridge_support;
#[path = "support/lambda.rs"]
mod lambda_support;
#[path = "support/proxy.rs"]
mod proxy;
// `tests/support` is compiled once, inside the EventBridge support.
use eventbridge_support::kafka as support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use fanout::engine::Target;
use fanout::engine::dlq::headers;
use lambda_support::{
    LambdaStack, Running, WAIT, header, lambda, read_until_quiet, run_engine, start_lambdas,
};
use proxy::{Mode, Proxy};
use serde_json::{Value, json};
use support::{ReadRecord, Tansu, TestRecord, ledger, unique, wait_for};

const RECORDS: i64 = 200;
const POISON: i64 = 100;
/// ⌈log₂ 200⌉ + 1: a record is in at most one request per bisection level, plus the one that
/// delivers it.
const MAX_SENDS: usize = 9;
/// How long the DLQ must stay silent before it is taken as complete.
const QUIET: Duration = Duration::from_secs(3);

/// Record `i`: key `k<i>`, value `{"seq": i}` (`"poison": true` at [`POISON`]), a header.
fn records() -> Vec<TestRecord> {
    (0..RECORDS)
        .map(|i| {
            let value = if i == POISON {
                json!({"seq": i, "poison": true})
            } else {
                json!({"seq": i})
            };
            TestRecord {
                partition: 0,
                key: format!("k{i}"),
                value: value.to_string(),
                headers: vec![("trace".into(), format!("t{i}"))],
            }
        })
        .collect()
}

/// A topic with one partition holding [`records`], and a DLQ topic.
async fn topics(kafka: &Tansu) -> (String, String) {
    let topic = unique("poison");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 1).await;
    kafka.create_topic(&dlq, 1).await;
    kafka.produce(&topic, &records()).await;
    (topic, dlq)
}

/// What a function received: one entry per record per invocation, in invocation order.
#[derive(Debug, Clone)]
struct Received {
    call: i64,
    offset: i64,
    ok: bool,
}

/// Reads the `poison` function's recording (ESM lines or `format: record` views).
fn received(path: &std::path::Path) -> Vec<Received> {
    ledger(path)
        .iter()
        .map(|l| {
            let record = l.get("view").unwrap_or(l);
            Received {
                call: l["call"].as_i64().unwrap(),
                offset: record["offset"].as_i64().expect("a record offset"),
                ok: l["outcome"] == "ok",
            }
        })
        .collect()
}

/// Records per call, in call order.
fn calls(lines: &[Received]) -> BTreeMap<i64, Vec<i64>> {
    let mut calls = BTreeMap::<i64, Vec<i64>>::new();
    for l in lines {
        calls.entry(l.call).or_default().push(l.offset);
    }
    calls
}

/// The 199 healthy offsets, in order.
fn healthy() -> Vec<i64> {
    (0..RECORDS).filter(|&o| o != POISON).collect()
}

/// The function's view of a run: every healthy record delivered once, in order; each sent at
/// most `max_sends` times; the poison record never delivered and sent alone exactly
/// `alone` times (its attempts).
fn check_function(lines: &[Received], max_sends: usize, alone: usize) {
    let delivered: Vec<i64> = lines.iter().filter(|l| l.ok).map(|l| l.offset).collect();
    assert_eq!(
        delivered,
        healthy(),
        "199 delivered once each, in offset order"
    );
    let mut sends = BTreeMap::<i64, usize>::new();
    for l in lines {
        *sends.entry(l.offset).or_default() += 1;
    }
    for (offset, n) in &sends {
        if *offset != POISON {
            assert!(*n <= max_sends, "offset {offset} was sent {n} times");
        }
    }
    let calls = calls(lines);
    let poison_alone = calls.values().filter(|c| **c == [POISON]).count();
    assert_eq!(poison_alone, alone, "the poison record alone: {calls:?}");
    // Every call that carried the poison record failed, and no other call did.
    for l in lines {
        assert_eq!(
            l.ok,
            !calls[&l.call].contains(&POISON),
            "call {} at offset {}",
            l.call,
            l.offset
        );
    }
}

/// The one DLQ record: offset 100's, original key, value and headers, and `fanout.*` headers.
fn check_dead_letter(dead: &[ReadRecord], target: &str) -> ReadRecord {
    assert_eq!(dead.len(), 1, "exactly one dead letter: {dead:?}");
    let d = &dead[0];
    assert_eq!(header(d, headers::SOURCE_OFFSET), POISON.to_string());
    assert_eq!(header(d, headers::SOURCE_PARTITION), "0");
    assert_eq!(header(d, headers::TARGET), target);
    assert_eq!(d.key.as_deref(), Some("k100"));
    assert_eq!(
        d.value.as_deref(),
        Some(json!({"seq": POISON, "poison": true}).to_string().as_str())
    );
    assert_eq!(header(d, "trace"), "t100", "original headers kept");
    d.clone()
}

/// Waits until the function delivered 199 records and the engine dead-lettered one, stops the
/// engine (checking it committed the whole partition), and returns the function's recording
/// and the DLQ, read until quiet.
async fn finish(
    kafka: &Tansu,
    running: Running,
    target: &str,
    (topic, dlq): (&str, &str),
    recorded: &std::path::Path,
) -> (Vec<Received>, Vec<ReadRecord>) {
    wait_for("199 records delivered and one dead-lettered", WAIT, || {
        running.counts(target) == (199, 1)
    })
    .await;
    let group = running.group.clone();
    running.shut_down().await;
    assert_eq!(
        kafka.committed(&group, topic, 0),
        Some(RECORDS),
        "the partition is committed to its end"
    );
    let dead = read_until_quiet(kafka, dlq, 1, QUIET).await;
    (received(recorded), dead)
}

fn retry() -> Value {
    json!({"max_attempts": 3, "initial_backoff": "10ms", "max_backoff": "50ms"})
}

/// Lambda sync, ESM events, one 200-record batch: the failing invocation is bisected until the
/// poison record fails alone; it alone uses its 3 attempts and is dead-lettered with the
/// function's errorType and errorMessage.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_esm_batch_dead_letters_only_the_poison_record() {
    let kafka = Tansu::start();
    let mut stack = LambdaStack::start();
    let recorded = stack.file("poison.jsonl");
    stack.function("poison", &[("RECORDER_FILE", recorded.to_str().unwrap())]);
    let (topic, dlq) = topics(&kafka).await;
    let routes = json!([{"name": "esm", "topics": [topic], "targets": [lambda("poison", json!({
        "delivery": {"ordering": "partition", "batch": {"max_records": 200, "max_wait": "2s"},
                     "retry": retry()}}))]}]);
    let running = start_lambdas(&kafka, &stack, &dlq, routes, |b| b).await;
    let (lines, dead) = finish(&kafka, running, "esm/poison", (&topic, &dlq), &recorded).await;

    let calls = calls(&lines);
    assert_eq!(
        calls.values().next().map(Vec::len),
        Some(200),
        "the first invocation carried the whole batch: {calls:?}"
    );
    check_function(&lines, MAX_SENDS, 3);
    let d = check_dead_letter(&dead, "esm/poison");
    assert_eq!(header(&d, headers::ERROR_KIND), "function_error");
    assert_eq!(header(&d, headers::ERROR_CODE), "PoisonRecordError");
    assert_eq!(
        header(&d, headers::ERROR_MESSAGE),
        format!("poison record {topic}-0@100"),
        "the poison record's own error"
    );
    assert_eq!(header(&d, headers::ERROR_CLASS), "retryable");
    assert_eq!(header(&d, headers::REASON), "attempts_exhausted");
    assert_eq!(header(&d, headers::ATTEMPTS), "3");
}

/// `format: record`: one invocation per record, so the poison record's invocation fails alone
/// from the start: it uses its 3 attempts, the records after it wait (not attempted, not
/// charged) and are then delivered once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_record_format_dead_letters_only_the_poison_record() {
    let kafka = Tansu::start();
    let mut stack = LambdaStack::start();
    let recorded = stack.file("poison.jsonl");
    stack.function("poison", &[("RECORDER_FILE", recorded.to_str().unwrap())]);
    let (topic, dlq) = topics(&kafka).await;
    let routes = json!([{"name": "views", "topics": [topic], "targets": [lambda("poison", json!({
        "format": "record",
        "delivery": {"ordering": "partition", "batch": {"max_records": 200, "max_wait": "2s"},
                     "retry": retry()}}))]}]);
    let running = start_lambdas(&kafka, &stack, &dlq, routes, |b| b).await;
    let (lines, dead) = finish(&kafka, running, "views/poison", (&topic, &dlq), &recorded).await;

    // One invocation per record: the healthy ones are each sent exactly once.
    check_function(&lines, 1, 3);
    assert!(calls(&lines).values().all(|c| c.len() == 1));
    let d = check_dead_letter(&dead, "views/poison");
    assert_eq!(header(&d, headers::ERROR_KIND), "function_error");
    assert_eq!(header(&d, headers::ERROR_CODE), "PoisonRecordError");
    assert_eq!(
        header(&d, headers::ERROR_MESSAGE),
        format!("poison record {topic}-0@100")
    );
    assert_eq!(header(&d, headers::REASON), "attempts_exhausted");
    assert_eq!(header(&d, headers::ATTEMPTS), "3");
}

/// A 200-record batch cut into several ESM invocations by the payload limit: the invocations
/// before the failing one are delivered, the failing one is bisected, and the records of the
/// invocations after it are neither charged nor dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_batch_split_by_payload_limit_dead_letters_only_the_poison_record() {
    let kafka = Tansu::start();
    let mut stack = LambdaStack::start();
    let recorded = stack.file("poison.jsonl");
    stack.function("poison", &[("RECORDER_FILE", recorded.to_str().unwrap())]);
    let (topic, dlq) = topics(&kafka).await;
    // The batch limit counts key, value and headers (under 8 KB for all 200 records, so the
    // batch is whole); the ESM event of a record is about 5 times larger (base64, topic,
    // offsets), so 8 KB of payload holds about 40 records per invocation.
    let bytes: usize = records()
        .iter()
        .map(|r| r.key.len() + r.value.len() + "trace".len() + r.headers[0].1.len())
        .sum();
    assert!(bytes < 8 * 1024, "{bytes}");
    let routes = json!([{"name": "split", "topics": [topic], "targets": [lambda("poison", json!({
        "delivery": {"ordering": "partition",
                     "batch": {"max_records": 200, "max_bytes": "8KB", "max_wait": "2s"},
                     "retry": retry()}}))]}]);
    let running = start_lambdas(&kafka, &stack, &dlq, routes, |b| b).await;
    let (lines, dead) = finish(&kafka, running, "split/poison", (&topic, &dlq), &recorded).await;

    // The first pass: invocations in offset order from 0, up to the first that failed; the
    // batch went on past it (its last record is below 199) and the rest was not sent.
    let calls = calls(&lines);
    let first_failure = lines.iter().find(|l| !l.ok).expect("a failed call").call;
    let first_pass: Vec<i64> = calls
        .range(..=first_failure)
        .flat_map(|(_, offsets)| offsets.iter().copied())
        .collect();
    let failed = &calls[&first_failure];
    assert!(
        calls.range(..first_failure).count() >= 2,
        "several invocations before the failing one: {calls:?}"
    );
    assert!(failed.contains(&POISON) && *failed.last().unwrap() < RECORDS - 1);
    assert_eq!(
        first_pass,
        (0..=*failed.last().unwrap()).collect::<Vec<i64>>(),
        "the first pass stops at the failing invocation"
    );
    check_function(&lines, MAX_SENDS, 3);
    let d = check_dead_letter(&dead, "split/poison");
    assert_eq!(header(&d, headers::ERROR_KIND), "function_error");
    assert_eq!(header(&d, headers::ERROR_CODE), "PoisonRecordError");
    assert_eq!(
        header(&d, headers::ERROR_MESSAGE),
        format!("poison record {topic}-0@100")
    );
    assert_eq!(header(&d, headers::REASON), "attempts_exhausted");
    assert_eq!(header(&d, headers::ATTEMPTS), "3");
}

/// EventBridge: a `PutEvents` request carrying the poison record is refused as a whole (HTTP
/// 413, payload too large: a record failure). The engine bisects the 10-entry request until
/// the poison entry is refused alone and dead-letters it at once (permanent); the other 199
/// reach the bus once each, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventbridge_request_refused_as_a_whole_dead_letters_only_the_poison_record() {
    let kafka = Tansu::start();
    let moto = eventbridge_support::Moto::start().await;
    let (topic, dlq) = topics(&kafka).await;
    let bus = unique("bus");
    moto.create_bus(&bus).await;
    let queue = moto
        .rule_to_queue(&bus, &json!({"source": ["fanout.poison"]}))
        .await;
    let proxy = Proxy::start(&moto.url, Mode::TooLargeWith("\"poison\":true".into())).await;
    let routes = json!([{"name": "bus", "topics": [topic], "targets": [
        {"eventbridge": {"name": "events", "bus": bus, "source": "fanout.poison",
          "detail_type": "Seq", "endpoint_url": proxy.url,
          "delivery": {"ordering": "partition", "batch": {"max_records": 10, "max_wait": "200ms"},
                       "retry": retry()}}}]}]);
    let table = eventbridge_support::table(routes);
    let mut factory = moto.targets();
    let targets: Vec<Arc<dyn Target>> = table
        .targets()
        .iter()
        .map(|t| factory.target(t).unwrap())
        .collect();
    let running = run_engine(&kafka, &dlq, table, targets);
    let deadline = std::time::Instant::now() + WAIT;
    while running.counts("bus/events") != (199, 1) {
        let summary: Vec<(u16, Vec<Value>)> = proxy
            .calls()
            .into_iter()
            .map(|c| {
                (
                    c.status,
                    c.details.iter().map(|d| d["seq"].clone()).collect(),
                )
            })
            .collect();
        assert!(
            std::time::Instant::now() < deadline,
            "not 199 delivered and one dead-lettered: {:?}; requests: {summary:?}",
            running.counts("bus/events")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let group = running.group.clone();
    running.shut_down().await;
    let dead = read_until_quiet(&kafka, &dlq, 1, QUIET).await;
    let events = moto.receive(&queue, 199, WAIT).await;
    assert_eq!(kafka.committed(&group, &topic, 0), Some(RECORDS));

    // What the bus accepted, in order: each healthy record once.
    let seq = |d: &Value| d["seq"].as_i64().unwrap();
    let accepted: Vec<i64> = proxy.accepted().iter().map(seq).collect();
    assert_eq!(
        accepted,
        healthy(),
        "199 accepted once each, in offset order"
    );
    let mut reached: Vec<i64> = events.iter().map(|e| seq(&e["detail"])).collect();
    reached.sort_unstable();
    assert_eq!(reached, healthy(), "and reached the bus's rule once each");
    // Requests: the ones refused carried the poison entry; it was refused alone once, and no
    // entry was sent more often than ⌈log₂ 10⌉ + 1 times.
    let calls = proxy.calls();
    let mut sends = BTreeMap::<i64, usize>::new();
    for c in &calls {
        let has_poison = c.details.iter().any(|d| d["poison"] == json!(true));
        assert_eq!(c.status == 413, has_poison, "{c:?}");
        for d in &c.details {
            *sends.entry(seq(d)).or_default() += 1;
        }
    }
    let alone = calls
        .iter()
        .filter(|c| c.details.len() == 1 && c.details[0]["poison"] == json!(true))
        .count();
    assert_eq!(alone, 1, "permanent: refused alone once, never retried");
    assert!(sends.values().all(|&n| n <= 5), "{sends:?}");

    let d = check_dead_letter(&dead, "bus/events");
    assert_eq!(header(&d, headers::ERROR_KIND), "payload_too_large");
    assert_eq!(
        header(&d, headers::ERROR_CODE),
        "RequestEntityTooLargeException"
    );
    assert_eq!(
        header(&d, headers::ERROR_MESSAGE),
        "Total size of the entries in the request is over the limit."
    );
    assert_eq!(header(&d, headers::ERROR_CLASS), "permanent");
    assert_eq!(header(&d, headers::REASON), "permanent_error");
    assert_eq!(header(&d, headers::ATTEMPTS), "1");
}
