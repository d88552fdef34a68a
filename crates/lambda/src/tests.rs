//! Unit tests: the exact ESM event, splitting by size, and the in-order delivery of a plan.

use std::cell::RefCell;
use std::sync::Arc;

use fanout_engine::{Delivery, DeliveryRecord, Failure, FailureKind, Outcome, TimestampType};
use serde_json::{Value, json};

use crate::payload::{EventSource, Plan, esm_record, plan_esm, plan_records};
use crate::target::{Answer, deliver_plan};

fn record(topic: &str, partition: i32, offset: i64, value: &str) -> Arc<DeliveryRecord> {
    Arc::new(DeliveryRecord {
        topic: topic.into(),
        partition,
        offset,
        timestamp: Some(1_545_084_650_987),
        timestamp_type: TimestampType::CreateTime,
        key: Some(b"recordKey".to_vec()),
        value: Some(value.as_bytes().to_vec()),
        headers: vec![("headerKey".into(), Some(b"headerValue".to_vec()))],
        header_name_bytes: Vec::new(),
    })
}

fn self_managed() -> EventSource {
    EventSource {
        bootstrap_servers: Some("b-1:9092,b-2:9092".into()),
        event_source_arn: None,
    }
}

fn payload_json(plan: &Plan, chunk: usize) -> Value {
    serde_json::from_slice(&plan.chunks[chunk].payload).expect("payload is JSON")
}

#[test]
fn esm_event_is_exactly_lambdas() {
    let plan = plan_esm(
        &[record("mytopic", 0, 15, "{\"key\":\"value\"}")],
        &self_managed(),
        1 << 20,
    );
    let text = String::from_utf8(plan.chunks[0].payload.clone()).unwrap();
    assert_eq!(
        text,
        concat!(
            r#"{"eventSource":"SelfManagedKafka","bootstrapServers":"b-1:9092,b-2:9092","records":{"mytopic-0":["#,
            r#"{"topic":"mytopic","partition":0,"offset":15,"timestamp":1545084650987,"timestampType":"CREATE_TIME","#,
            r#""key":"cmVjb3JkS2V5","value":"eyJrZXkiOiJ2YWx1ZSJ9","#,
            r#""headers":[{"headerKey":[104,101,97,100,101,114,86,97,108,117,101]}]}]}}"#
        )
    );
}

#[test]
fn msk_event_names_the_cluster() {
    let source = EventSource {
        bootstrap_servers: Some("b-1:9098".into()),
        event_source_arn: Some("arn:aws:kafka:us-east-1:123456789012:cluster/c/abc".into()),
    };
    let plan = plan_esm(&[record("t", 3, 1, "x")], &source, 1 << 20);
    let event = payload_json(&plan, 0);
    assert_eq!(event["eventSource"], "aws:kafka");
    assert_eq!(
        event["eventSourceArn"],
        "arn:aws:kafka:us-east-1:123456789012:cluster/c/abc"
    );
    assert_eq!(event["bootstrapServers"], "b-1:9098");
    assert!(event["records"]["t-3"].is_array());
    let text = String::from_utf8(plan.chunks[0].payload.clone()).unwrap();
    assert!(
        text.starts_with(r#"{"eventSource":"aws:kafka","eventSourceArn":"arn:"#),
        "{text}"
    );
}

#[test]
fn absent_parts_follow_esm() {
    let mut r = (*record("t", 0, 7, "")).clone();
    r.key = None;
    r.value = None;
    r.timestamp = None;
    r.timestamp_type = TimestampType::NotAvailable;
    r.headers = vec![
        ("empty".into(), None),
        ("utf8".into(), Some("hë".as_bytes().to_vec())),
        ("bytes".into(), Some(vec![0, 127, 128, 255])),
    ];
    let encoded = String::from_utf8(esm_record(&r)).unwrap();
    assert_eq!(
        encoded,
        concat!(
            r#"{"topic":"t","partition":0,"offset":7,"timestamp":-1,"timestampType":"NO_TIMESTAMP_TYPE","#,
            r#""headers":[{"empty":[]},{"utf8":[104,-61,-85]},{"bytes":[0,127,-128,-1]}]}"#
        )
    );
    let mut r = (*record("t", 0, 7, "v")).clone();
    r.timestamp_type = TimestampType::LogAppendTime;
    assert!(
        String::from_utf8(esm_record(&r))
            .unwrap()
            .contains(r#""timestampType":"LOG_APPEND_TIME""#)
    );
    let plan = plan_esm(&[Arc::new(r)], &EventSource::default(), 1 << 20);
    let event = payload_json(&plan, 0);
    assert!(
        event.get("bootstrapServers").is_none(),
        "omitted when unknown"
    );
}

#[test]
fn partitions_are_grouped_in_order_of_appearance() {
    let batch = [
        record("b", 1, 10, "1"),
        record("a", 0, 5, "2"),
        record("b", 1, 11, "3"),
    ];
    let plan = plan_esm(&batch, &self_managed(), 1 << 20);
    assert_eq!(plan.chunks.len(), 1);
    let text = String::from_utf8(plan.chunks[0].payload.clone()).unwrap();
    assert!(text.find("\"b-1\":[").unwrap() < text.find("\"a-0\":[").unwrap());
    let event = payload_json(&plan, 0);
    let offsets: Vec<i64> = event["records"]["b-1"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["offset"].as_i64().unwrap())
        .collect();
    assert_eq!(offsets, [10, 11]);
}

#[test]
fn batches_split_in_order_within_the_limit() {
    let batch: Vec<_> = (0..10)
        .map(|i| record("t", 0, i, &"x".repeat(300)))
        .collect();
    let two = plan_esm(&batch[..2], &self_managed(), usize::MAX).chunks[0]
        .payload
        .len();
    for limit in [two, two + 1, two * 2, 1 << 20] {
        let plan = plan_esm(&batch, &self_managed(), limit);
        assert!(plan.too_large.is_empty());
        let mut order = Vec::new();
        for (n, chunk) in plan.chunks.iter().enumerate() {
            assert!(chunk.payload.len() <= limit, "limit {limit}");
            let event = payload_json(&plan, n);
            let offsets: Vec<usize> = event["records"]["t-0"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["offset"].as_u64().unwrap() as usize)
                .collect();
            assert_eq!(
                offsets, chunk.records,
                "payload carries the chunk's records"
            );
            order.extend(offsets);
        }
        assert_eq!(
            order,
            (0..10).collect::<Vec<_>>(),
            "every record once, in order"
        );
        if limit == two || limit == two + 1 {
            assert_eq!(
                plan.chunks.len(),
                5,
                "greedy: two per invocation at limit {limit}"
            );
        }
    }
}

#[test]
fn a_record_that_cannot_fit_alone_is_too_large() {
    let batch = [
        record("t", 0, 0, "a"),
        record("t", 0, 1, &"x".repeat(2000)),
        record("t", 0, 2, "b"),
    ];
    let plan = plan_esm(&batch, &self_managed(), 1000);
    assert_eq!(plan.too_large.len(), 1);
    assert_eq!(plan.too_large[0].0, 1);
    assert!(
        plan.too_large[0].1 > 2000 * 4 / 3,
        "size of the base64 payload"
    );
    let carried: Vec<&[usize]> = plan.chunks.iter().map(|c| c.records.as_slice()).collect();
    assert_eq!(
        carried,
        [&[0, 2][..]],
        "the records around it still go, in order"
    );

    let plan = plan_records(&batch, 1000);
    assert_eq!(plan.too_large.iter().map(|t| t.0).collect::<Vec<_>>(), [1]);
    assert_eq!(plan.chunks.len(), 2);
    let view: Value = serde_json::from_slice(&plan.chunks[1].payload).unwrap();
    assert_eq!(
        view,
        json!({"topic": "t", "partition": 0, "offset": 2, "timestamp": 1_545_084_650_987_i64,
               "key": "recordKey", "headers": {"headerKey": "headerValue"}, "value": "b"}),
        "record format: the view"
    );
}

/// Runs `deliver_plan` (reading partial-batch responses) with answers given in order; returns
/// the outcome and the number of invocations made.
fn run(batch: &[Arc<DeliveryRecord>], plan: Plan, answers: Vec<Answer>) -> (Delivery, usize) {
    run_reading(batch, plan, answers, true)
}

fn run_reading(
    batch: &[Arc<DeliveryRecord>],
    plan: Plan,
    answers: Vec<Answer>,
    read_response: bool,
) -> (Delivery, usize) {
    let answers = RefCell::new(answers.into_iter());
    let calls = RefCell::new(0);
    let result = block_on(deliver_plan(batch, plan, 1000, read_response, |_payload| {
        *calls.borrow_mut() += 1;
        let answer = answers
            .borrow_mut()
            .next()
            .expect("an answer per invocation");
        async move { answer }
    }));
    (result, calls.into_inner())
}

fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn failure(kind: FailureKind) -> Failure {
    Failure::new(kind, "Code", "message")
}

/// `n` records of 300 bytes: two fit one invocation of at most 1,500 bytes.
fn pairs(n: i64) -> (Vec<Arc<DeliveryRecord>>, Plan) {
    let batch: Vec<_> = (0..n)
        .map(|i| record("t", 0, i, &"x".repeat(300)))
        .collect();
    let plan = plan_esm(&batch, &self_managed(), 1500);
    assert_eq!(
        plan.chunks.len() as i64,
        (n + 1) / 2,
        "two records per invocation"
    );
    (batch, plan)
}

fn ok() -> Answer {
    Answer::Done(b"{}".to_vec())
}

use Outcome::{Delivered, NotAttempted};

#[test]
fn a_failed_invocation_is_shared_by_its_records_and_stops_the_batch() {
    let (batch, plan) = pairs(6);
    let f = failure(FailureKind::FunctionError);
    let (result, calls) = run(&batch, plan, vec![ok(), Answer::Failed(f.clone())]);
    assert_eq!(calls, 2, "the third invocation is not made");
    let shared = Outcome::Shared(f);
    assert_eq!(
        result,
        Delivery::Partial(vec![
            Delivered,
            Delivered,
            shared.clone(),
            shared,
            NotAttempted,
            NotAttempted,
        ])
    );
}

#[test]
fn a_failure_of_any_kind_stops_the_batch() {
    for kind in [
        FailureKind::InvalidRequest,
        FailureKind::NotFound,
        FailureKind::PayloadTooLarge,
        FailureKind::Timeout,
    ] {
        let (batch, plan) = pairs(4);
        let f = failure(kind);
        let (result, calls) = run(&batch, plan, vec![Answer::Failed(f.clone()), ok()]);
        assert_eq!(calls, 1, "{kind:?}: the second invocation is not made");
        let shared = Outcome::Shared(f);
        assert_eq!(
            result,
            Delivery::Partial(vec![shared.clone(), shared, NotAttempted, NotAttempted]),
            "{kind:?}"
        );
    }
}

#[test]
fn an_invocation_of_one_record_fails_it_alone() {
    let batch: Vec<_> = (0..3).map(|i| record("t", 0, i, "{}")).collect();
    let f = failure(FailureKind::FunctionError);
    let (result, calls) = run(
        &batch,
        plan_records(&batch, 1000),
        vec![ok(), Answer::Failed(f.clone())],
    );
    assert_eq!(calls, 2, "format: record, the third record is not sent");
    assert_eq!(
        result,
        Delivery::Partial(vec![Delivered, Outcome::Failed(f), NotAttempted])
    );

    // A batch of one in `esm` format, too.
    let one = [record("t", 0, 0, "v")];
    let f = failure(FailureKind::Throttled);
    let plan = plan_esm(&one, &self_managed(), 1000);
    let (result, _) = run(&one, plan, vec![Answer::Failed(f.clone())]);
    assert_eq!(result, Delivery::Partial(vec![Outcome::Failed(f)]));
}

#[test]
fn whole_batch_outcomes() {
    let batch: Vec<_> = (0..2).map(|i| record("t", 0, i, "v")).collect();
    let plan = || plan_esm(&batch, &self_managed(), 1000);
    let (result, _) = run(&batch, plan(), vec![Answer::Done(b"null".to_vec())]);
    assert_eq!(result, Delivery::Delivered);
    let f = failure(FailureKind::Throttled);
    let (result, _) = run(&batch, plan(), vec![Answer::Failed(f.clone())]);
    assert_eq!(
        result,
        Delivery::Partial(vec![Outcome::Shared(f.clone()), Outcome::Shared(f)]),
        "one invocation carrying both: the failure is shared"
    );
}

#[test]
fn a_record_too_large_fails_alone_and_holds_nothing() {
    let batch = [
        record("t", 0, 0, "a"),
        record("t", 0, 1, &"x".repeat(2000)),
        record("t", 0, 2, "b"),
    ];
    let plan = || plan_esm(&batch, &self_managed(), 1000);
    let (result, calls) = run(&batch, plan(), vec![ok()]);
    assert_eq!(calls, 1);
    let Delivery::Partial(outcomes) = result else {
        panic!("expected a partial delivery: {result:?}");
    };
    assert_eq!(outcomes[0], Delivered);
    assert_eq!(outcomes[2], Delivered);
    let Outcome::Failed(f) = &outcomes[1] else {
        panic!("the large record fails alone: {outcomes:?}");
    };
    assert_eq!(f.kind, FailureKind::PayloadTooLarge);

    let throttled = failure(FailureKind::Throttled);
    let (result, _) = run(&batch, plan(), vec![Answer::Failed(throttled.clone())]);
    let Delivery::Partial(outcomes) = result else {
        panic!("expected a partial delivery: {result:?}");
    };
    assert_eq!(outcomes[0], Outcome::Shared(throttled.clone()));
    assert!(matches!(&outcomes[1], Outcome::Failed(f) if f.kind == FailureKind::PayloadTooLarge));
    assert_eq!(outcomes[2], Outcome::Shared(throttled));
}

#[test]
fn a_batch_item_failure_fails_the_named_record_and_holds_its_partition() {
    let batch = [
        record("t", 0, 5, "a"),
        record("t", 1, 8, "b"),
        record("t", 0, 6, "c"),
        record("t", 0, 7, "d"),
        record("t", 1, 9, "e"),
    ];
    let plan = || plan_esm(&batch, &self_managed(), 1 << 20);
    let named = Outcome::Failed(crate::response::batch_item_failure("t-0", 6));
    let body = br#"{"batchItemFailures":[{"itemIdentifier":{"partition":"t-0","offset":6}}]}"#;
    let (result, _) = run(&batch, plan(), vec![Answer::Done(body.to_vec())]);
    assert_eq!(
        result,
        Delivery::Partial(vec![
            Delivered,
            Delivered,
            named.clone(),
            NotAttempted,
            Delivered
        ])
    );
    let Delivery::Partial(outcomes) = &result else {
        unreachable!()
    };
    let f = outcomes[2].failure().unwrap();
    assert_eq!(
        (f.kind, f.code.as_str()),
        (FailureKind::FunctionError, "BatchItemFailure")
    );

    // Several items of one partition: the first is the one that failed; two partitions.
    let body = br#"{"batchItemFailures":[
        {"itemIdentifier":{"partition":"t-0","offset":7}},
        {"itemIdentifier":{"partition":"t-0","offset":6}},
        {"itemIdentifier":{"partition":"t-1","offset":"9"}}]}"#;
    let (result, _) = run(&batch, plan(), vec![Answer::Done(body.to_vec())]);
    let t1 = Outcome::Failed(crate::response::batch_item_failure("t-1", 9));
    assert_eq!(
        result,
        Delivery::Partial(vec![Delivered, Delivered, named, NotAttempted, t1])
    );

    // Not read for async or `format: record`.
    let (result, _) = run_reading(&batch, plan(), vec![Answer::Done(body.to_vec())], false);
    assert_eq!(result, Delivery::Delivered);
}

#[test]
fn a_batch_item_failure_stops_the_later_invocations() {
    let (batch, plan) = pairs(4);
    let body = br#"{"batchItemFailures":[{"itemIdentifier":{"partition":"t-0","offset":1}}]}"#;
    let (result, calls) = run(&batch, plan, vec![Answer::Done(body.to_vec()), ok()]);
    assert_eq!(calls, 1);
    assert_eq!(
        result,
        Delivery::Partial(vec![
            Delivered,
            Outcome::Failed(crate::response::batch_item_failure("t-0", 1)),
            NotAttempted,
            NotAttempted,
        ])
    );
}

#[test]
fn an_invalid_partial_batch_response_fails_the_invocation() {
    let bad = br#"{"batchItemFailures":[{"itemIdentifier":{"partition":"t-0","offset":99}}]}"#;
    let (batch, plan) = pairs(4);
    let (result, calls) = run(&batch, plan, vec![Answer::Done(bad.to_vec()), ok()]);
    assert_eq!(calls, 1);
    let Delivery::Partial(outcomes) = result else {
        panic!("an unknown identifier fails the invocation: {result:?}");
    };
    assert!(matches!(&outcomes[0], Outcome::Shared(f) if f.code == "InvalidBatchItemFailures"));
    assert_eq!(outcomes[0], outcomes[1]);
    assert_eq!(outcomes[2..], [NotAttempted, NotAttempted]);
    let f = outcomes[0].failure().unwrap();
    assert_eq!(f.kind, FailureKind::FunctionError);

    let one = [record("t", 0, 0, "v")];
    let plan = plan_esm(&one, &self_managed(), 1000);
    let (result, _) = run(&one, plan, vec![Answer::Done(bad.to_vec())]);
    assert!(matches!(
        result,
        Delivery::Partial(ref o) if matches!(&o[0], Outcome::Failed(f) if f.code == "InvalidBatchItemFailures")
    ));
}

#[tokio::test]
async fn the_factory_shares_clients_per_endpoint_and_rejects_other_kinds() {
    let route = json!({"name": "r", "topics": ["t"], "targets": [
        {"lambda": {"function": "a"}},
        {"lambda": {"function": "b", "invocation": "async"}},
        {"lambda": {"function": "c", "endpoint_url": "http://127.0.0.1:1"}},
        {"custom": {"name": "x", "kind": "ledger"}},
    ]});
    let mut builder = fanout_router::RouteTable::builder();
    builder.add_route(&serde_json::from_value(route).unwrap());
    let table = builder.build().unwrap();
    let mut lambdas = crate::LambdaTargets::builder()
        .region("us-east-1")
        .credentials("test", "test")
        .build()
        .await;
    let targets = table.targets();
    for t in &targets[..3] {
        lambdas.target(t).unwrap();
    }
    assert_eq!(lambdas.clients.len(), 2, "one client per distinct endpoint");
    let err = lambdas.target(&targets[3]).err().unwrap();
    assert_eq!(err, "r/x is a custom:ledger target, not a Lambda target");
}
