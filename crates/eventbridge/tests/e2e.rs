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
/// arrive nowhere; an entry EventBridge rejects (`InvalidArgument`: about that record) and a
/// record that cannot become an event are dead-lettered as `invalid_payload` with their error
/// codes while the rest of their batches is delivered; entries throttled once (a target
/// failure) are retried alone and delivered, never dead-lettered.
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
                "invalid_payload".into(),
                "InvalidArgument".into()
            ),
        ]
    );
}

/// A target whose bus does not exist (EventBridge answers `ResourceNotFoundException`: a target
/// failure) holds its records: none is dead-lettered however often it is tried, while the
/// route's other target, on the same partitions, delivers everything. Once the bus exists, the
/// held records arrive, each once and in order per partition, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bus_holds_its_records_until_it_exists() {
    use std::sync::atomic::Ordering::SeqCst;

    let kafka = Tansu::start();
    let moto = Moto::start().await;
    let topic = unique("orders");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 2).await;
    kafka.create_topic(&dlq, 1).await;
    let (present, later) = (unique("bus-present"), unique("bus-later"));
    moto.create_bus(&present).await;
    // `later` exists in moto with its rule, but the proxy answers as if it did not until the
    // flag is cleared: the bus "appears" with nothing racing its rule.
    moto.create_bus(&later).await;
    let from_fanout = json!({"source": ["fanout.orders"]});
    let queue_present = moto.rule_to_queue(&present, &from_fanout).await;
    let queue_later = moto.rule_to_queue(&later, &from_fanout).await;
    let proxy = ThrottleProxy::start(moto.url.trim_start_matches("http://"), "\u{0}none").await;
    proxy.missing_bus.store(true, SeqCst);

    let n = 40;
    let records: Vec<TestRecord> = (0..n)
        .map(|i| TestRecord {
            partition: (i % 2) as i32,
            key: format!("k{i}"),
            value: json!({"seq": i}).to_string(),
            headers: Vec::new(),
        })
        .collect();
    kafka.produce(&topic, &records).await;
    // Two attempts: a record failure would be dead-lettered within the first second.
    let delivery = json!({"batch": {"max_records": 5, "max_wait": "20ms"},
                          "retry": {"max_attempts": 2, "initial_backoff": "20ms",
                                    "max_backoff": "200ms"}});
    let routes = json!([{
        "name": "orders",
        "topics": [topic],
        "targets": [
            {"eventbridge": {"name": "present", "bus": present, "source": "fanout.orders",
              "detail_type": "Order", "delivery": delivery}},
            {"eventbridge": {"name": "later", "bus": later, "source": "fanout.orders",
              "detail_type": "Order", "endpoint_url": proxy.url, "delivery": delivery}},
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

    let seqs = |events: &[Value]| -> Vec<u64> {
        events
            .iter()
            .map(|e| e["detail"]["seq"].as_u64().unwrap())
            .collect()
    };
    let got_present = moto.receive(&queue_present, n, WAIT).await;
    let mut present_seqs = seqs(&got_present);
    present_seqs.sort_unstable();
    assert_eq!(
        present_seqs,
        (0..n as u64).collect::<Vec<_>>(),
        "the other target"
    );
    let deadline = std::time::Instant::now() + WAIT;
    while proxy.refused.load(SeqCst) < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "the missing bus is tried again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let dead = kafka.read_topic(&dlq, 1, 0, Duration::from_secs(5));
    assert!(
        dead.is_empty(),
        "a missing bus dead-letters nothing: {} records",
        dead.len()
    );

    proxy.missing_bus.store(false, SeqCst);
    let got_later = moto.receive(&queue_later, n, WAIT).await;
    let dead = kafka.read_topic(&dlq, 1, 0, Duration::from_secs(5));
    stop.send(()).unwrap();
    running.await.unwrap().expect("engine runs");

    // Each once; in order per partition (moto forwards to SQS inside PutEvents, and its queues
    // keep that order).
    let later_seqs = seqs(&got_later);
    for partition in 0..2 {
        let of_partition: Vec<u64> = later_seqs
            .iter()
            .copied()
            .filter(|s| s % 2 == partition)
            .collect();
        let want: Vec<u64> = (0..n as u64).filter(|s| s % 2 == partition).collect();
        assert_eq!(
            of_partition, want,
            "partition {partition}: each once, in order"
        );
    }
    assert_eq!(later_seqs.len(), n);
    assert!(
        dead.is_empty(),
        "nothing dead-lettered: {} records",
        dead.len()
    );
}
