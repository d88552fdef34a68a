//! The Lambda target against real components: a tansu broker, cargo-lambda's local Invoke API
//! and real Rust Lambda functions (`tests/lambda-functions`) that decode every event with
//! `aws_lambda_events`' `KafkaEvent` and record what they receive.

#[path = "support/lambda.rs"]
mod lambda_support;
mod support;

use std::collections::HashMap;
use std::time::Duration;

use fanout::engine::dlq::headers;
use lambda_support::{
    LambdaStack, WAIT, counts, header, input, lambda, offsets_by_partition, read_until_quiet,
    records_of, start, start_lambdas, value_json,
};
use serde_json::{Value, json};
use support::{Tansu, TestRecord, ledger, unique, wait_for};

/// How long the DLQ must stay silent before it is taken as complete.
const QUIET: Duration = Duration::from_secs(3);

/// Acceptance 1: every record reaches the function exactly once, in offset order per
/// partition, as an ESM event that `aws_lambda_events` decodes, with key, value and headers
/// intact and batches bounded by `max_records`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esm_events_reach_the_function_exactly_once_in_order() {
    let kafka = Tansu::start();
    let mut stack = LambdaStack::start();
    let recorded = stack.file("recorder.jsonl");
    stack.function("recorder", &[("RECORDER_FILE", recorded.to_str().unwrap())]);
    let topic = unique("orders");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 3).await;
    kafka.create_topic(&dlq, 1).await;
    let records = input(180, 3);
    kafka.produce(&topic, &records).await;
    let routes = json!([{"name": "esm", "topics": [topic], "targets": [
        lambda("recorder", json!({"delivery": {"batch": {"max_records": 25, "max_wait": "20ms"}}})),
    ]}]);
    let (stop, handle) = start(&kafka, &stack, &dlq, routes, |b| b).await;
    wait_for("180 records recorded", WAIT, || {
        records_of(&recorded).len() >= 180
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(()).unwrap();
    handle.await.unwrap();

    let lines = records_of(&recorded);
    assert_eq!(lines.len(), 180);
    assert!(counts(&lines).values().all(|&c| c == 1), "exactly once");
    for (p, offsets) in offsets_by_partition(&lines) {
        assert_eq!(
            offsets,
            (0..60).collect::<Vec<i64>>(),
            "partition {p} in offset order"
        );
    }
    let mut per_call = HashMap::<i64, usize>::new();
    for l in &lines {
        *per_call.entry(l["call"].as_i64().unwrap()).or_default() += 1;
        let sent = &records[value_json(l)["seq"].as_u64().unwrap() as usize];
        let p = sent.partition;
        assert_eq!(l["eventSource"], "SelfManagedKafka");
        assert_eq!(l["bootstrapServers"], kafka.bootstrap.as_str());
        assert_eq!(l["eventSourceArn"], Value::Null);
        assert_eq!(l["topic"], topic.as_str());
        assert_eq!(l["partition"], p);
        assert_eq!(l["partitionKey"], format!("{topic}-{p}"));
        assert_eq!(l["timestampType"], "CREATE_TIME");
        assert!(
            l["rawTimestamp"].as_i64().unwrap() > 1_600_000_000_000,
            "{l}"
        );
        assert_eq!(l["value"], sent.value.as_str());
        let key = if sent.key.is_empty() {
            Value::Null
        } else {
            json!(sent.key)
        };
        assert_eq!(l["key"], key, "no key: no `key` field");
        assert_eq!(
            l["headers"],
            json!({"trace": sent.headers[0].1, "lang": "hë"})
        );
    }
    assert!(
        per_call.values().all(|&n| n <= 25),
        "max_records bounds each event: {per_call:?}"
    );
}

/// Acceptance 2: one route with two functions (one in `format: record`) and a second route on
/// the same topic: each function gets exactly its records, from one consumer group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_gives_each_function_exactly_its_records() {
    let kafka = Tansu::start();
    let mut stack = LambdaStack::start();
    let (a, b, c) = (
        stack.file("a.jsonl"),
        stack.file("b.jsonl"),
        stack.file("c.jsonl"),
    );
    stack.function("recorder", &[("RECORDER_FILE", a.to_str().unwrap())]);
    stack.function("recorder-b", &[("RECORDER_FILE", b.to_str().unwrap())]);
    stack.function("recorder-c", &[("RECORDER_FILE", c.to_str().unwrap())]);
    let topic = unique("events");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 2).await;
    kafka.create_topic(&dlq, 1).await;
    let records = input(120, 2);
    kafka.produce(&topic, &records).await;
    let fast = json!({"batch": {"max_wait": "10ms"}});
    let routes = json!([
        {"name": "all", "topics": [topic], "targets": [
            lambda("recorder", json!({"delivery": fast})),
            lambda("recorder-b", json!({"name": "views", "format": "record", "delivery": fast})),
        ]},
        {"name": "gold", "topics": [topic], "filters": [{"pattern": {"value": {"kind": ["gold"]}}}],
         "targets": [lambda("recorder-c", json!({"delivery": fast}))]},
    ]);
    let gold = records.iter().filter(|r| r.value.contains("gold")).count();
    let (stop, handle) = start(&kafka, &stack, &dlq, routes, |b| b).await;
    wait_for("every function's records", WAIT, || {
        records_of(&a).len() >= 120 && ledger(&b).len() >= 120 && records_of(&c).len() >= gold
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(()).unwrap();
    handle.await.unwrap();

    let all = records_of(&a);
    assert_eq!(all.len(), 120);
    assert!(counts(&all).values().all(|&n| n == 1));
    let views = ledger(&b);
    assert_eq!(
        views.len(),
        120,
        "format: record — one invocation per record"
    );
    let mut seen: Vec<u64> = views
        .iter()
        .map(|l| {
            assert_eq!(l["format"], "record");
            assert_eq!(l["view"]["topic"], topic.as_str());
            assert_eq!(l["view"]["headers"]["lang"], "hë");
            l["view"]["value"]["seq"].as_u64().unwrap()
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..120).collect::<Vec<u64>>());
    let golden = records_of(&c);
    assert_eq!(golden.len(), gold);
    assert!(counts(&golden).values().all(|&n| n == 1));
    assert!(
        golden.iter().all(|l| value_json(l)["kind"] == "gold"),
        "only its route's records"
    );
}

/// Acceptance 3a: a function failing twice is retried until it succeeds; one failing every
/// record is bisected down to single records, each dead-lettered alone after its own last
/// attempt with its errorType and errorMessage in the headers; an unknown function is a target
/// failure: its records are held (never dead-lettered) and the target shows as down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn function_errors_are_retried_then_dead_lettered() {
    let kafka = Tansu::start();
    let mut stack = LambdaStack::start();
    let (flaky, failing) = (stack.file("flaky.jsonl"), stack.file("failing.jsonl"));
    stack.function(
        "flaky",
        &[
            ("RECORDER_FILE", flaky.to_str().unwrap()),
            ("FLAKY_FAILURES", "2"),
        ],
    );
    stack.function(
        "failing",
        &[
            ("RECORDER_FILE", failing.to_str().unwrap()),
            ("FAIL_TYPE", "PoisonError"),
            ("FAIL_MESSAGE", "cannot digest"),
        ],
    );
    let topic = unique("payments");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 1).await;
    kafka.create_topic(&dlq, 1).await;
    kafka.produce(&topic, &input(6, 1)).await;
    let delivery = |attempts: u32| {
        json!({"batch": {"max_wait": "200ms"},
               "retry": {"max_attempts": attempts, "initial_backoff": "10ms", "max_backoff": "50ms"}})
    };
    let routes = json!([
        {"name": "retry", "topics": [topic], "targets": [lambda("flaky", json!({"delivery": delivery(4)}))]},
        {"name": "poison", "topics": [topic], "targets": [lambda("failing", json!({"delivery": delivery(3)}))]},
        {"name": "gone", "topics": [topic], "targets": [lambda("no-such-function", json!({"delivery": delivery(5)}))]},
    ]);
    let running = start_lambdas(&kafka, &stack, &dlq, routes, |b| b).await;
    wait_for(
        "flaky delivers, failing dead-letters, gone is down",
        WAIT,
        || {
            running.counts("retry/flaky") == (6, 0)
                && running.counts("poison/failing") == (0, 6)
                && !running.health("gone/no-such-function").0
        },
    )
    .await;
    assert_eq!(
        running.health("gone/no-such-function"),
        (false, Some("not_found"))
    );
    assert_eq!(
        running.counts("gone/no-such-function"),
        (0, 0),
        "held, not dead-lettered"
    );
    running.shut_down().await;
    let dead = read_until_quiet(&kafka, &dlq, 1, QUIET).await;

    let flaky_lines = records_of(&flaky);
    let ok: Vec<&Value> = flaky_lines
        .iter()
        .filter(|l| l["outcome"] == "ok")
        .collect();
    assert_eq!(ok.len(), 6, "delivered once after the failures");
    assert!(
        flaky_lines
            .iter()
            .any(|l| l["outcome"] == "error" && l["call"] == 2)
    );
    assert!(ok.iter().all(|l| l["call"].as_i64().unwrap() >= 3));
    // Each record of `failing` fails alone three times (its attempts), after at most
    // ⌈log₂ 6⌉ invocations shared with others while bisecting.
    let failing_lines = records_of(&failing);
    let mut per_call = HashMap::<i64, Vec<i64>>::new();
    for l in &failing_lines {
        per_call
            .entry(l["call"].as_i64().unwrap())
            .or_default()
            .push(l["offset"].as_i64().unwrap());
    }
    let tries = counts(&failing_lines);
    assert_eq!(tries.len(), 6);
    for o in 0..6 {
        let alone = per_call.values().filter(|c| **c == [o]).count();
        assert_eq!(alone, 3, "offset {o} alone: {per_call:?}");
        assert!(tries[&(0, o)] <= 3 + 3, "offset {o}: {tries:?}");
    }

    assert_eq!(dead.len(), 6, "only failing's records: {dead:?}");
    let mut offsets: Vec<&str> = dead
        .iter()
        .map(|d| header(d, headers::SOURCE_OFFSET))
        .collect();
    offsets.sort_unstable();
    assert_eq!(offsets, ["0", "1", "2", "3", "4", "5"]);
    for d in &dead {
        assert_eq!(header(d, headers::TARGET), "poison/failing");
        assert_eq!(header(d, headers::ERROR_KIND), "function_error");
        assert_eq!(header(d, headers::ERROR_CODE), "PoisonError");
        assert!(
            header(d, headers::ERROR_MESSAGE).starts_with("cannot digest"),
            "{d:?}"
        );
        assert_eq!(header(d, headers::ERROR_CLASS), "retryable");
        assert_eq!(header(d, headers::REASON), "attempts_exhausted");
        assert_eq!(header(d, headers::ATTEMPTS), "3");
        assert_eq!(header(d, "lang"), "hë", "original headers kept");
    }
}

/// Acceptance 3b: a partial-batch response retries only the named record and those after it
/// in its partition; nothing is dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_item_failures_retry_only_the_failed_suffix() {
    let kafka = Tansu::start();
    let mut stack = LambdaStack::start();
    let recorded = stack.file("partial.jsonl");
    stack.function("partial", &[("RECORDER_FILE", recorded.to_str().unwrap())]);
    let topic = unique("ledger");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 1).await;
    kafka.create_topic(&dlq, 1).await;
    let records: Vec<TestRecord> = (0..20)
        .map(|i| TestRecord {
            partition: 0,
            key: format!("k{i}"),
            value: json!({"seq": i, "fail": i == 7}).to_string(),
            headers: vec![],
        })
        .collect();
    kafka.produce(&topic, &records).await;
    let routes = json!([{"name": "partial", "topics": [topic], "targets": [lambda("partial", json!({
        "delivery": {"batch": {"max_wait": "300ms"},
                     "retry": {"max_attempts": 3, "initial_backoff": "10ms", "max_backoff": "50ms"}}}))]}]);
    let running = start_lambdas(&kafka, &stack, &dlq, routes, |b| b).await;
    let delivered = |lines: &[Value]| {
        let mut offsets: Vec<i64> = lines
            .iter()
            .filter(|l| l["outcome"] == "ok")
            .map(|l| l["offset"].as_i64().unwrap())
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        offsets.len()
    };
    wait_for("records 7..20 delivered again", WAIT, || {
        delivered(&records_of(&recorded)) >= 13 && running.counts("partial/partial") == (20, 0)
    })
    .await;
    running.shut_down().await;
    let dead = read_until_quiet(&kafka, &dlq, 1, QUIET).await;

    assert!(dead.is_empty(), "nothing dead-lettered: {dead:?}");
    let lines = records_of(&recorded);
    let partial_call = lines
        .iter()
        .find(|l| l["outcome"] == "partial")
        .expect("a partial call")["call"]
        .clone();
    let counts = counts(&lines);
    for o in 0..20 {
        let n = counts[&(0, o)];
        match o {
            0..7 => assert_eq!(n, 1, "offset {o}, before the failure, is sent once"),
            7 => assert_eq!(n, 2, "the failed record is sent again"),
            _ => assert!(n <= 2, "offset {o} sent {n} times"),
        }
    }
    // The retry starts exactly at the failed record.
    let retry_call = lines
        .iter()
        .find(|l| l["offset"] == 7 && l["outcome"] == "ok")
        .expect("offset 7 delivered")["call"]
        .clone();
    assert!(retry_call.as_i64() > partial_call.as_i64());
    let retried: Vec<i64> = lines
        .iter()
        .filter(|l| l["call"] == retry_call)
        .map(|l| l["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(retried[0], 7, "{retried:?}");
    assert!(retried.windows(2).all(|w| w[1] == w[0] + 1), "{retried:?}");
}

/// Acceptance 3c and 4: `invocation: async` delivers in order, splitting batches to fit
/// Lambda's 1 MiB async payload limit; a record that can never fit is dead-lettered as
/// `payload_too_large` after one attempt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_invocation_splits_batches_and_dead_letters_oversized_records() {
    let kafka = Tansu::start();
    let mut stack = LambdaStack::start();
    let recorded = stack.file("async.jsonl");
    stack.function("recorder", &[("RECORDER_FILE", recorded.to_str().unwrap())]);
    let topic = unique("blobs");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 1).await;
    kafka.create_topic(&dlq, 1).await;
    // 300 KB values become 400 KB of base64: two fit in 1 MiB, three do not. 800 KB → 1.07 MB.
    let size = |i: usize| match i {
        1..=4 => 300_000,
        5 => 800_000,
        _ => 10,
    };
    let records: Vec<TestRecord> = (0..9)
        .map(|i| TestRecord {
            partition: 0,
            key: format!("k{i}"),
            value: json!({"seq": i, "pad": "x".repeat(size(i))}).to_string(),
            headers: vec![],
        })
        .collect();
    kafka.produce(&topic, &records).await;
    let routes = json!([{"name": "async", "topics": [topic], "targets": [lambda("recorder", json!({
        "invocation": "async", "delivery": {"batch": {"max_wait": "300ms"}}}))]}]);
    let running = start_lambdas(&kafka, &stack, &dlq, routes, |b| b).await;
    wait_for("8 records delivered, 1 dead-lettered", WAIT, || {
        running.counts("async/recorder") == (8, 1)
    })
    .await;
    running.shut_down().await;
    let dead = read_until_quiet(&kafka, &dlq, 1, QUIET).await;

    let lines = records_of(&recorded);
    let offsets: Vec<i64> = lines
        .iter()
        .map(|l| l["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(
        offsets,
        [0, 1, 2, 3, 4, 6, 7, 8],
        "all but the oversized one, once, in order"
    );
    let mut big_per_call = HashMap::<i64, usize>::new();
    for l in lines
        .iter()
        .filter(|l| l["value"].as_str().unwrap().len() > 100_000)
    {
        *big_per_call.entry(l["call"].as_i64().unwrap()).or_default() += 1;
    }
    assert!(
        big_per_call.values().all(|&n| n <= 2),
        "split to fit 1 MiB: {big_per_call:?}"
    );

    assert_eq!(dead.len(), 1, "{dead:?}");
    let d = &dead[0];
    assert_eq!(d.offset, 0);
    assert_eq!(header(d, headers::SOURCE_OFFSET), "5");
    assert_eq!(header(d, headers::ERROR_KIND), "payload_too_large");
    assert_eq!(header(d, headers::ERROR_CLASS), "permanent");
    assert_eq!(header(d, headers::REASON), "permanent_error");
    assert_eq!(header(d, headers::ATTEMPTS), "1");
    assert_eq!(
        d.value.as_deref(),
        Some(records[5].value.as_str()),
        "the original value"
    );
}

/// A function slower than the operation timeout fails as `timeout`, is retried, then
/// dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_functions_time_out() {
    let kafka = Tansu::start();
    let mut stack = LambdaStack::start();
    stack.function("slow", &[("SLOW_MS", "2500")]);
    let topic = unique("slow");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 1).await;
    kafka.create_topic(&dlq, 1).await;
    kafka.produce(&topic, &input(1, 1)).await;
    let routes = json!([{"name": "slow", "topics": [topic], "targets": [lambda("slow", json!({
        "delivery": {"retry": {"max_attempts": 2, "initial_backoff": "10ms", "max_backoff": "10ms"}}}))]}]);
    let running = start_lambdas(&kafka, &stack, &dlq, routes, |b| {
        b.operation_timeout(Duration::from_millis(700))
    })
    .await;
    wait_for("the record dead-lettered", WAIT, || {
        running.counts("slow/slow") == (0, 1)
    })
    .await;
    running.shut_down().await;
    let dead = read_until_quiet(&kafka, &dlq, 1, QUIET).await;

    assert_eq!(dead.len(), 1);
    assert_eq!(header(&dead[0], headers::ERROR_KIND), "timeout");
    assert_eq!(header(&dead[0], headers::ERROR_CODE), "OperationTimeout");
    assert_eq!(header(&dead[0], headers::REASON), "attempts_exhausted");
    assert_eq!(header(&dead[0], headers::ATTEMPTS), "2");
}
