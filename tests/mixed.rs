//! The `fanout` binary end to end with both AWS target kinds: one route delivers every record
//! from one read to a real Lambda function (cargo-lambda's Invoke API) and to an EventBridge bus
//! (moto; a rule forwards to SQS, where the test reads what EventBridge delivered).

#[path = "../crates/eventbridge/tests/support/mod.rs"]
mod eventbridge_support;
#[path = "support/lambda.rs"]
mod lambda_support;
// `tests/support` is compiled once, inside the EventBridge support.
use eventbridge_support::kafka as support;

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use eventbridge_support::Moto;
use lambda_support::{LambdaStack, read_until_quiet, records_of};
use serde_json::json;
use support::{Tansu, TestRecord, temp_dir, unique};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_read_reaches_a_lambda_function_and_an_eventbridge_bus() {
    let kafka = Tansu::start();
    let moto = Moto::start().await;
    let mut lambdas = LambdaStack::start();
    let recorded = lambdas.file("recorder.jsonl");
    lambdas.function("recorder", &[("RECORDER_FILE", recorded.to_str().unwrap())]);
    let topic = unique("orders");
    let dlq = unique("dlq");
    kafka.create_topic(&topic, 2).await;
    kafka.create_topic(&dlq, 1).await;
    let bus = unique("bus");
    moto.create_bus(&bus).await;
    let queue = moto
        .rule_to_queue(&bus, &json!({"source": ["com.example.orders"]}))
        .await;

    let dir = temp_dir("mixed");
    std::fs::create_dir_all(dir.join("routes")).unwrap();
    let routes = json!({"routes": [{
        "name": "orders", "topics": [topic],
        "filters": [{"pattern": {"value": {"amount": [{"numeric": [">=", 0]}]}}}],
        "targets": [
            {"lambda": {"function": "recorder", "delivery": {"batch": {"max_records": 20, "max_wait": "10ms"}}}},
            {"eventbridge": {"bus": bus, "source": "com.example.orders", "detail_type": {"path": "$.value.kind"}}}
        ]
    }]});
    std::fs::write(dir.join("routes/orders.json"), routes.to_string()).unwrap();
    let group = unique("g");
    std::fs::write(
        dir.join("fanout.yaml"),
        format!(
            "kafka:\n  bootstrap_servers: {}\n  group_id: {group}\n  properties:\n    session.timeout.ms: 2000\n    heartbeat.interval.ms: 500\ndlq:\n  topic: {dlq}\nengine:\n  commit_interval: 100ms\n",
            kafka.bootstrap
        ),
    )
    .unwrap();
    let records: Vec<TestRecord> = (0..60)
        .map(|i| TestRecord {
            partition: i % 2,
            key: format!("o{i}"),
            value:
                json!({"amount": i, "kind": if i % 2 == 0 { "OrderPlaced" } else { "OrderPaid" }})
                    .to_string(),
            headers: vec![],
        })
        .collect();
    kafka.produce(&topic, &records).await;

    let log = std::fs::File::create(dir.join("fanout.log")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(["run", "--config"])
        .arg(dir.join("fanout.yaml"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_LAMBDA", &lambdas.endpoint)
        .env("AWS_ENDPOINT_URL_EVENTBRIDGE", &moto.url)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    let events = moto.receive(&queue, 60, Duration::from_secs(90)).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while records_of(&recorded).len() < 60 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert_eq!(
        child.wait().unwrap().code(),
        Some(0),
        "see {}",
        dir.join("fanout.log").display()
    );

    let invoked = records_of(&recorded);
    assert_eq!(invoked.len(), 60, "every record reached the function once");
    let offsets: HashSet<(i64, i64)> = invoked
        .iter()
        .map(|l| {
            (
                l["partition"].as_i64().unwrap(),
                l["offset"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(offsets.len(), 60);
    assert_eq!(events.len(), 60, "every record reached the bus once");
    let amounts: HashSet<i64> = events
        .iter()
        .map(|e| e["detail"]["amount"].as_i64().unwrap())
        .collect();
    assert_eq!(amounts, (0..60).collect());
    for e in &events {
        let kind = if e["detail"]["amount"].as_i64().unwrap() % 2 == 0 {
            "OrderPlaced"
        } else {
            "OrderPaid"
        };
        assert_eq!(e["detail-type"], kind);
        assert_eq!(e["source"], "com.example.orders");
    }
    for p in 0..2 {
        assert_eq!(
            kafka.committed(&group, &topic, p),
            Some(30),
            "everything committed"
        );
    }
    let dead = read_until_quiet(&kafka, &dlq, 1, Duration::from_secs(3)).await;
    assert!(dead.is_empty(), "nothing dead-lettered: {dead:?}");
}
