//! The EventBridge target against a real EventBridge endpoint (moto server): what arrives on a
//! bus, observed through rules that forward to SQS queues; per-entry and whole-request errors.

mod support;

use std::sync::Arc;
use std::time::Duration;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use fanout_engine::{Cause, Delivery, DeliveryRecord, FailureKind, Outcome, Target, TimestampType};
use serde_json::{Value, json};
use support::{Moto, table, unique};

const WAIT: Duration = Duration::from_secs(30);
/// Whole seconds, so moto's `time` (no fraction) compares exactly.
const TS: i64 = 1_700_000_000_000;

fn record(offset: i64, value: &str) -> Arc<DeliveryRecord> {
    let headers = vec![("trace".to_owned(), Some(format!("t{offset}").into_bytes()))];
    let key = format!("k{offset}").into_bytes();
    let timestamp = Some(TS + offset * 1000);
    Arc::new(DeliveryRecord {
        topic: "orders".into(),
        partition: 0,
        offset,
        timestamp,
        timestamp_type: TimestampType::CreateTime,
        key: Some(key),
        value: Some(value.as_bytes().to_vec()),
        headers,
        header_name_bytes: Vec::new(),
    })
}

fn time_of(offset: i64) -> String {
    DateTime::from_millis(TS + offset * 1000)
        .fmt(Format::DateTime)
        .unwrap()
}

/// The targets of a one-route table, built with the moto server's factory.
fn targets(moto: &Moto, targets: Value) -> Vec<Arc<dyn Target>> {
    let table = table(json!([{"name": "r", "topics": ["orders"], "targets": targets}]));
    let mut factory = moto.targets();
    table
        .targets()
        .iter()
        .map(|t| factory.target(t).unwrap())
        .collect()
}

/// Every field as configured, for a batch that the size limit splits into several requests:
/// a bus by name with a constant detail type and the value as detail, and a bus by ARN with a
/// JSONPath detail type and the envelope as detail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_as_configured() {
    let moto = Moto::start().await;
    let (bus_a, bus_b) = (unique("bus-a"), unique("bus-b"));
    moto.create_bus(&bus_a).await;
    let arn_b = moto.create_bus(&bus_b).await;
    let source = json!({"source": ["fanout.test"]});
    let queue_a = moto.rule_to_queue(&bus_a, &source).await;
    let queue_b = moto.rule_to_queue(&bus_b, &source).await;
    let shipped = moto
        .rule_to_queue(&bus_b, &json!({"detail-type": ["shipped"]}))
        .await;
    let built = targets(
        &moto,
        json!([
            {"eventbridge": {"name": "a", "bus": bus_a, "source": "fanout.test", "detail_type": "Order",
              "resources": ["arn:aws:s3:::bucket"],
              // About three of these entries fit one request: the batch needs four.
              "delivery": {"batch": {"max_bytes": 300}}}},
            {"eventbridge": {"name": "b", "bus": arn_b, "source": "fanout.test",
              "detail_type": {"path": "$.value.kind"}, "detail": "envelope"}},
        ]),
    );
    let kinds = ["created", "shipped"];
    let batch: Vec<_> = (0..10)
        .map(|i| {
            record(
                i,
                &json!({"seq": i, "kind": kinds[i as usize % 2]}).to_string(),
            )
        })
        .collect();
    for target in &built {
        assert_eq!(target.deliver(&batch).await, Ok(Delivery::Delivered));
    }

    let mut got_a = moto.receive(&queue_a, 10, WAIT).await;
    got_a.sort_by_key(|e| e["detail"]["seq"].as_i64());
    assert_eq!(got_a.len(), 10, "each record exactly once: {got_a:?}");
    for (i, e) in got_a.iter().enumerate() {
        assert_eq!(e["source"], "fanout.test");
        assert_eq!(e["detail-type"], "Order");
        assert_eq!(e["detail"], json!({"seq": i, "kind": kinds[i % 2]}));
        assert_eq!(e["time"], time_of(i as i64));
        assert_eq!(e["resources"], json!(["arn:aws:s3:::bucket"]));
    }

    let mut got_b = moto.receive(&queue_b, 10, WAIT).await;
    got_b.sort_by_key(|e| e["detail"]["offset"].as_i64());
    assert_eq!(got_b.len(), 10, "each record exactly once: {got_b:?}");
    for (i, e) in got_b.iter().enumerate() {
        assert_eq!(e["detail-type"], kinds[i % 2]);
        assert_eq!(
            e["detail"],
            json!({"topic": "orders", "partition": 0, "offset": i, "timestamp": TS + i as i64 * 1000,
                   "key": format!("k{i}"), "headers": {"trace": format!("t{i}")},
                   "value": {"seq": i, "kind": kinds[i % 2]}})
        );
    }
    // The bus's own rules fan out further: only `shipped` events reach this queue.
    let got_shipped = moto.receive(&shipped, 5, WAIT).await;
    assert_eq!(got_shipped.len(), 5);
    assert!(
        got_shipped
            .iter()
            .all(|e| e["detail"]["value"]["kind"] == "shipped")
    );
}

/// One entry EventBridge rejects (empty detail type → `InvalidArgument`, about that record) and
/// one record that cannot become an event: those two fail alone with their own codes, as record
/// failures; the others are delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_entry_fails_alone() {
    let moto = Moto::start().await;
    let bus = unique("bus");
    moto.create_bus(&bus).await;
    let queue = moto
        .rule_to_queue(&bus, &json!({"source": ["fanout.test"]}))
        .await;
    let target = targets(
        &moto,
        json!([{"eventbridge": {"bus": bus, "source": "fanout.test",
                "detail_type": {"path": "$.value.kind"}}}]),
    )
    .remove(0);
    let batch = vec![
        record(0, r#"{"kind": "created"}"#),
        record(1, r#"{"kind": ""}"#),
        record(2, r#"{"kind": "created"}"#),
        record(3, r#"["not", "an", "object"]"#),
        record(4, r#"{"kind": "created"}"#),
    ];
    let Ok(Delivery::Partial(outcomes)) = target.deliver(&batch).await else {
        panic!("expected a partial delivery");
    };
    let summary: Vec<_> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Delivered => None,
            Outcome::Failed(f) => Some((f.kind, f.code.as_str(), f.cause())),
            other => panic!("each record has its own outcome: {other:?}"),
        })
        .collect();
    assert_eq!(
        summary,
        [
            None,
            Some((
                FailureKind::InvalidPayload,
                "InvalidArgument",
                Cause::Record
            )),
            None,
            Some((
                FailureKind::InvalidPayload,
                "DetailTypeNotFound",
                Cause::Record
            )),
            None,
        ]
    );
    assert!(!outcomes[1].failure().unwrap().message.is_empty());
    let mut got = moto.receive(&queue, 3, WAIT).await;
    got.sort_by_key(|e| e["time"].as_str().map(str::to_owned));
    let times: Vec<_> = got.iter().map(|e| e["time"].clone()).collect();
    assert_eq!(times, [time_of(0), time_of(2), time_of(4)]);
}

/// Whole-request errors: an unknown bus fails the request as `not_found`, a target failure
/// (held, never dead-lettered), shared by the records of a request that carried several and
/// about the one record of a request that carried one. Once the bus exists, the same target
/// delivers them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_bus_is_not_found_until_it_exists() {
    let moto = Moto::start().await;
    let bus = unique("later");
    let target = targets(
        &moto,
        json!([{"eventbridge": {"bus": bus, "source": "fanout.test", "detail_type": "T"}}]),
    )
    .remove(0);
    let batch = [record(0, "{}"), record(1, "{}")];
    let Ok(Delivery::Partial(outcomes)) = target.deliver(&batch).await else {
        panic!("the request fails");
    };
    let Outcome::Shared(failure) = &outcomes[0] else {
        panic!("two records in one failed request share the failure: {outcomes:?}");
    };
    assert_eq!(outcomes[1], outcomes[0]);
    assert_eq!(failure.kind, FailureKind::NotFound, "{failure}");
    assert_eq!(failure.code, "ResourceNotFoundException");
    assert_eq!(failure.cause(), Cause::Target, "never dead-lettered");

    let Ok(Delivery::Partial(outcomes)) = target.deliver(&batch[..1]).await else {
        panic!("the request fails");
    };
    assert!(
        matches!(&outcomes[..], [Outcome::Failed(f)] if f.kind == FailureKind::NotFound),
        "{outcomes:?}"
    );

    moto.create_bus(&bus).await;
    let queue = moto
        .rule_to_queue(&bus, &json!({"source": ["fanout.test"]}))
        .await;
    assert_eq!(target.deliver(&batch).await, Ok(Delivery::Delivered));
    assert_eq!(moto.receive(&queue, 2, WAIT).await.len(), 2);
}
