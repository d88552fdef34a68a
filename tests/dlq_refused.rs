//! Issue 14, acceptance 5: a dead letter the DLQ producer refuses. tansu has no size limit, so
//! the refusal is the producer's own: `dlq.properties: {message.max.bytes: 1000000}` and a
//! ~2 MiB record its target rejects for good. The partition must not commit past that record
//! (while later records are delivered), the failure must be counted and shown in `/status`
//! and logged once; after a restart with the override removed, the dead letter is written
//! whole and the partition commits to its end.

#[path = "support/fanout.rs"]
mod fanout_run;
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use fanout::engine::dlq::headers;
use fanout_run::{Fanout, Setup, metric};
use serde_json::{Value, json};
use support::{RawRecord, Tansu, free_port, ledger, temp_dir, unique, wait_for};

const WAIT: Duration = Duration::from_secs(120);

fn record(partition: i32, key: &str, value: Vec<u8>) -> RawRecord {
    RawRecord {
        partition,
        key: Some(key.as_bytes().to_vec()),
        value: Some(value),
        headers: vec![(b"trace".to_vec(), Some(key.as_bytes().to_vec()))],
    }
}

fn small(partition: i32, i: usize) -> RawRecord {
    record(
        partition,
        &format!("k{i}"),
        json!({"seq": i}).to_string().into_bytes(),
    )
}

/// (partition, offset) → deliveries in a ledger.
fn delivered(path: &Path) -> BTreeMap<(i64, i64), usize> {
    let mut m = BTreeMap::new();
    for l in ledger(path) {
        let c = (
            l["partition"].as_i64().unwrap(),
            l["offset"].as_i64().unwrap(),
        );
        *m.entry(c).or_insert(0) += 1;
    }
    m
}

fn failing_lanes(status: &Value) -> Vec<Value> {
    status["dlq"]["failing_lanes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_dead_letter_holds_the_commit_and_drains_after_the_fix() {
    let kafka = Tansu::start();
    let topic = unique("refused");
    let dlq = unique("refused-dlq");
    kafka.create_topic(&topic, 2).await;
    kafka.create_topic(&dlq, 1).await;
    let dir = temp_dir("dlq-refused");
    let group = unique("g");
    let port = free_port();
    let target = |name: &str, settings: Value| {
        let mut s = settings;
        s["path"] = json!(dir.join(format!("{name}.jsonl")));
        json!({"custom": {"name": name, "kind": "ledger", "settings": s,
                          "delivery": {"batch": {"max_records": 20, "max_wait": "5ms"}}}})
    };
    let routes = json!([{"name": "r", "topics": [topic], "targets": [
        target("picky", json!({"permanent_keys": ["big"]})),
        target("steady", json!({})),
    ]}]);
    let setup = |dlq_extra: &'static str| Setup {
        dir: &dir,
        bootstrap: &kafka.bootstrap,
        group: &group,
        dlq: &dlq,
        port,
        routes: routes.clone(),
        dlq_extra,
        engine_extra: "  drain_timeout: 2s\n",
    };
    let config = setup("  properties:\n    message.max.bytes: 1000000\n").write();
    let log = dir.join("fanout.log");

    // 100 records per partition first, all delivered and committed; then the big record on
    // partition 0, then 100 more per partition.
    let first: Vec<RawRecord> = (0..200).map(|i| small((i % 2) as i32, i)).collect();
    kafka.produce_bytes(&topic, &first).await;
    let mut fanout = Fanout::start(&config, &log, port);
    fanout.wait_http(Duration::from_secs(60)).await;
    wait_for("the first records committed", WAIT, || {
        kafka.committed(&group, &topic, 0) == Some(100)
            && kafka.committed(&group, &topic, 1) == Some(100)
    })
    .await;
    let big_value = {
        let mut v = b"{\"blob\":\"".to_vec();
        v.extend(std::iter::repeat_n(b'y', 2 * 1024 * 1024));
        v.extend(b"\"}");
        v
    };
    let big = record(0, "big", big_value.clone());
    let mut second = vec![big.clone()];
    second.extend((200..400).map(|i| small((i % 2) as i32, i)));
    let offsets = kafka.produce_bytes(&topic, &second).await;
    assert_eq!(offsets[0], (0, 100), "the big record is at offset 100");
    let big_offset = 100;
    let ends = [201, 200];

    // Later records are delivered (steady: all of them; picky: partition 1), the metric
    // counts the refused write, /status shows the lane; the commit stays at the record.
    wait_for("later records delivered", WAIT, || {
        let steady = delivered(&dir.join("steady.jsonl"));
        let picky = delivered(&dir.join("picky.jsonl"));
        steady.len() == 401 && picky.keys().filter(|(p, _)| *p == 1).count() == 200
    })
    .await;
    let deadline = Instant::now() + WAIT;
    let status = loop {
        fanout.assert_running();
        let status = fanout.status();
        let failures = failing_lanes(&status)
            .first()
            .and_then(|l| l["failures"].as_u64())
            .unwrap_or(0);
        if failures >= 3 && kafka.committed(&group, &topic, 1) == Some(ends[1]) {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "no failing DLQ lane shown: {status}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let metrics = fanout.metrics();
    let lanes = failing_lanes(&status);
    assert_eq!(lanes.len(), 1, "{status}");
    let lane = &lanes[0];
    assert_eq!(lane["state"], "dlq_write_failing");
    assert_eq!(lane["reason"], "message_too_large");
    assert_eq!(lane["topic"], topic.as_str());
    assert_eq!(lane["partition"], 0);
    assert_eq!(lane["offset"], big_offset);
    assert_eq!(lane["target"], "r/picky");
    let failures = lane["failures"].as_u64().unwrap();
    assert!(
        metric(
            &metrics,
            &[
                "fanout_dlq_write_failures_total{",
                "reason=\"message_too_large\""
            ]
        ) >= failures as f64,
        "{metrics}"
    );
    assert_eq!(
        metric(&metrics, &["fanout_dlq_write_failures_total{"]),
        metric(
            &metrics,
            &[
                "fanout_dlq_write_failures_total{",
                "reason=\"message_too_large\""
            ]
        ),
        "no other reason"
    );
    // The commit is held at the record: at the broker and in /status; partition 1 is at its
    // end.
    assert_eq!(kafka.committed(&group, &topic, 0), Some(big_offset));
    let held_status = status.clone();
    // One ERROR line for the state change, not one per failed write.
    let text = fanout.log_text();
    let errors = text
        .lines()
        .filter(|l| l.contains("ERROR") && l.contains("DLQ write failed"))
        .count();
    assert_eq!(
        errors, 1,
        "{failures} failed writes, one ERROR line:\n{text}"
    );
    assert!(!text.contains("panic"), "{text}");

    // Before the stop: what picky delivered in the first run (records of partition 0 that
    // came after the big one in its batch were delivered, but finish only with it).
    let picky_first = delivered(&dir.join("picky.jsonl"));
    assert!(!picky_first.contains_key(&(0, big_offset)));
    assert_eq!(fanout.stop(), Some(0), "SIGTERM stops it, exit 0");
    assert_eq!(
        kafka.committed(&group, &topic, 0),
        Some(big_offset),
        "the stop does not commit past the record either"
    );
    assert!(
        kafka
            .read_topic(&dlq, 1, 0, Duration::from_secs(10))
            .is_empty(),
        "nothing reached the DLQ"
    );

    // The fix: no override. The record is read again, rejected again, and written.
    let config = setup("").write();
    let mut fanout = Fanout::start(&config, &log, port);
    fanout.wait_http(Duration::from_secs(60)).await;
    wait_for("partition 0 commits to its end", WAIT, || {
        kafka.committed(&group, &topic, 0) == Some(ends[0])
    })
    .await;
    let dead = kafka.read_topic_raw(&dlq, 1, 1, WAIT);
    fanout.assert_running();
    let status = fanout.status();
    let metrics = fanout.metrics();
    assert_eq!(fanout.stop(), Some(0));

    assert_eq!(dead.len(), 1, "exactly one dead letter");
    assert_eq!(dead[0].key.as_deref(), Some(&b"big"[..]));
    let value = dead[0].value.as_deref().unwrap_or_default();
    assert_eq!(value.len(), big_value.len());
    assert!(value == big_value, "the value, whole");
    let d = dead[0].lossy();
    assert_eq!(d.header("trace"), Some("big"));
    assert_eq!(d.header(headers::TARGET), Some("r/picky"));
    assert_eq!(d.header(headers::ERROR_KIND), Some("invalid_payload"));
    assert_eq!(d.header(headers::REASON), Some("permanent_error"));
    assert_eq!(d.header(headers::SOURCE_PARTITION), Some("0"));
    assert_eq!(d.header(headers::SOURCE_OFFSET), Some("100"));
    assert_eq!(failing_lanes(&status), Vec::<Value>::new(), "{status}");
    assert_eq!(metric(&metrics, &["fanout_dlq_write_failures_total{"]), 0.0);
    assert_eq!(kafka.committed(&group, &topic, 1), Some(ends[1]));

    // Exact deliveries: the restart resumed at the big record, so steady got partition 0's
    // records from it on twice, everything else once; picky got each record but the big one
    // once, plus a second time those it had delivered after the big one in the first run.
    let steady = delivered(&dir.join("steady.jsonl"));
    let picky = delivered(&dir.join("picky.jsonl"));
    for (p, end) in [(0, ends[0]), (1, ends[1])] {
        for o in 0..end {
            let again = usize::from(p == 0 && o >= big_offset);
            assert_eq!(
                steady.get(&(p, o)).copied(),
                Some(1 + again),
                "steady {p}/{o}"
            );
            let want = if (p, o) == (0, big_offset) {
                None
            } else {
                let before =
                    usize::from(p == 0 && o > big_offset && picky_first.contains_key(&(p, o)));
                Some(1 + before)
            };
            assert_eq!(picky.get(&(p, o)).copied(), want, "picky {p}/{o}");
        }
    }
    assert_eq!(steady.len() as i64, ends[0] + ends[1]);

    // /status showed the held commit too (checked last: it is the broker's confirmed commit).
    let committed: Vec<(i64, i64)> = held_status["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let partition = p["partition"].as_i64().unwrap();
            (partition, p["committed"].as_i64().unwrap_or(-1))
        })
        .collect();
    assert_eq!(
        committed,
        [(0, big_offset), (1, ends[1])],
        "/status shows the confirmed commits (-1: none confirmed): {held_status}"
    );
}
