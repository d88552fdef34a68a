//! End to end: records produced to a real Kafka-compatible broker (tansu), routed and delivered
//! by the engine in-process to EventBridge buses (moto), observed through rules → SQS queues.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use fanout_engine::dlq::headers;
use fanout_engine::{Engine, EngineConfig};
use serde_json::{Value, json};
use support::kafka::{Tansu, TestRecord, fast_group};
use support::throttle::ThrottleProxy;
use support::{Moto, table, unique};
use tokio::sync::oneshot;

const WAIT: Duration = Duration::from_secs(90);

/// Every matching record arrives exactly once per target with the configured source,
/// detail type (constant / JSONPath) and detail (value / envelope); records that match no route
/// arrive nowhere; an entry EventBridge rejects and a record that cannot become an event are
/// dead-lettered with their error codes while the rest of their batches is delivered; entries
/// throttled once are retried (alone) and delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_reach_every_bus_exactly_once() {
    let kafka = Tansu::start();
    let moto = Moto::start().await;
    let topic = unique("orders");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 2).await;
    kafka.create_topic(&dlq, 1).await;

    let (bus_a, bus_b) = (unique("bus-a"), unique("bus-b"));
    moto.create_bus(&bus_a).await;
    let arn_b = moto.create_bus(&bus_b).await;
    let from_fanout = json!({"source": ["fanout.orders"]});
    let queue_a = moto.rule_to_queue(&bus_a, &from_fanout).await;
    let queue_b = moto.rule_to_queue(&bus_b, &from_fanout).await;
    // Target `plain` goes through a proxy that throttles entries marked `"slow": true` once.
    let proxy = ThrottleProxy::start(moto.url.trim_start_matches("http://"), "\"slow\":true").await;

    // 60 records: kinds cycle; every 10th matches no route; 1 has an empty kind (EventBridge
    // rejects that detail type); 1 is an array (matched by the second filter, no object).
    let kinds = ["created", "shipped", "cancelled"];
    let mut values: Vec<Value> = (0..58)
        .map(|i| match i {
            _ if i % 10 == 9 => json!({"seq": i, "ignored": true}),
            _ if i % 7 == 0 => json!({"seq": i, "kind": kinds[i % 3], "slow": true}),
            _ => json!({"seq": i, "kind": kinds[i % 3]}),
        })
        .collect();
    values.push(json!({"seq": 58, "kind": ""}));
    values.push(json!([1, 58]));
    let records: Vec<TestRecord> = values
        .iter()
        .enumerate()
        .map(|(i, v)| TestRecord {
            partition: (i % 2) as i32,
            key: format!("k{i}"),
            value: v.to_string(),
            headers: vec![("trace".into(), format!("t{i}"))],
        })
        .collect();
    kafka.produce(&topic, &records).await;

    let routes = json!([{
        "name": "orders",
        "topics": [topic],
        "filters": [
            {"pattern": {"value": {"kind": [{"exists": true}]}}},
            {"pattern": {"value": [1]}},
        ],
        "targets": [
            {"eventbridge": {"name": "plain", "bus": bus_a, "source": "fanout.orders",
              "detail_type": "Order", "endpoint_url": proxy.url,
              "delivery": {"batch": {"max_wait": "20ms"},
                           "retry": {"initial_backoff": "10ms", "max_backoff": "50ms"}}}},
            {"eventbridge": {"name": "typed", "bus": arn_b, "source": "fanout.orders",
              "detail_type": {"path": "$.value.kind"}, "detail": "envelope",
              "delivery": {"batch": {"max_records": 7, "max_bytes": 700, "max_wait": "20ms"}}}},
        ],
    }]);
    let table = table(routes);
    let mut factory = moto.targets();
    let targets: Vec<_> = table
        .targets()
        .iter()
        .map(|t| factory.target(t).unwrap())
        .collect();
    let config = fast_group(EngineConfig::new(&kafka.bootstrap, &unique("g"), &dlq));
    let engine = Engine::new(config, table, |t| targets.get(t.id.0 as usize).cloned()).unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(engine.run(async move {
        let _ = stopped.await;
    }));

    let with_kind: Vec<&Value> = values.iter().filter(|v| v.get("kind").is_some()).collect();
    let expected_a = with_kind.len(); // the array record is dead-lettered
    let expected_b = with_kind.len() - 1; // and so is the empty kind
    let got_a = moto.receive(&queue_a, expected_a, WAIT).await;
    let got_b = moto.receive(&queue_b, expected_b, WAIT).await;
    let dead = kafka.read_topic(&dlq, 1, 3, WAIT);
    stop.send(()).unwrap();
    running.await.unwrap().expect("engine runs");

    // plain: constant detail type, the value as detail, each record once.
    let mut by_seq = BTreeMap::new();
    for e in &got_a {
        assert_eq!(e["source"], "fanout.orders");
        assert_eq!(e["detail-type"], "Order");
        *by_seq
            .entry(e["detail"]["seq"].as_u64().unwrap())
            .or_insert(0) += 1;
        assert_eq!(
            e["detail"],
            values[e["detail"]["seq"].as_u64().unwrap() as usize]
        );
    }
    let want: Vec<u64> = with_kind
        .iter()
        .map(|v| v["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(by_seq.keys().copied().collect::<Vec<_>>(), want);
    assert!(by_seq.values().all(|&n| n == 1), "exactly once: {by_seq:?}");
    let slow = values.iter().filter(|v| v.get("slow").is_some()).count();
    assert_eq!(
        proxy.throttled.load(std::sync::atomic::Ordering::SeqCst),
        slow
    );

    // typed: detail type from the record, the envelope as detail, each record once.
    let mut offsets = BTreeMap::new();
    for e in &got_b {
        let d = &e["detail"];
        assert_eq!(e["source"], "fanout.orders");
        assert_eq!(e["detail-type"], d["value"]["kind"]);
        assert_eq!(d["topic"], topic.as_str());
        let seq = d["value"]["seq"].as_u64().unwrap() as usize;
        assert_eq!(d["value"], values[seq]);
        assert_eq!(d["partition"], (seq % 2) as u64);
        assert_eq!(d["offset"], (seq / 2) as u64);
        assert_eq!(d["key"], format!("k{seq}"));
        assert_eq!(d["headers"], json!({"trace": format!("t{seq}")}));
        *offsets.entry(seq).or_insert(0) += 1;
    }
    assert_eq!(offsets.len(), expected_b, "{offsets:?}");
    assert!(
        offsets.values().all(|&n| n == 1),
        "exactly once: {offsets:?}"
    );
    assert!(!offsets.contains_key(&58), "the empty kind was rejected");

    // The DLQ: the array (both targets) and the empty kind (typed only), with their codes.
    let mut dead: Vec<(String, String, String, String)> = dead
        .iter()
        .map(|r| {
            let h = |name: &str| r.header(name).unwrap().to_owned();
            (
                h(headers::TARGET),
                r.value.clone().unwrap_or_default(),
                h(headers::ERROR_KIND),
                h(headers::ERROR_CODE),
            )
        })
        .collect();
    dead.sort();
    let array = values[59].to_string();
    let empty = values[58].to_string();
    assert_eq!(
        dead,
        [
            (
                "orders/plain".into(),
                array.clone(),
                "invalid_payload".into(),
                "DetailNotObject".into()
            ),
            (
                "orders/typed".into(),
                array,
                "invalid_payload".into(),
                "DetailTypeNotFound".into()
            ),
            (
                "orders/typed".into(),
                empty,
                "invalid_request".into(),
                "InvalidArgument".into()
            ),
        ]
    );
}
