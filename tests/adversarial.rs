//! Issue 14, acceptance 3: records built to break a dispatcher, mixed into real traffic, through
//! the `fanout` binary. A header name that is not UTF-8 (written by `kafka-python`, which rdkafka
//! cannot read safely), a 100,000-member object, an object nested 1,000,000 deep, a 6 MiB value
//! its target rejects, a tombstone and a binary key, among 10,000 good records on 6
//! partitions. The process keeps running; every target gets exactly the records its route
//! matches; the rejected records are dead-lettered whole, headers and all; every partition
//! commits to its end.

#[path = "support/fanout.rs"]
mod fanout_run;
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use fanout::engine::dlq::headers;
use fanout_run::{Fanout, Setup};
use serde_json::{Value, json};
use support::{RawRecord, Tansu, free_port, ledger, temp_dir, unique};

const GOOD: usize = 10_000;
const PARTITIONS: i32 = 6;
const WAIT: Duration = Duration::from_secs(180);

/// (partition, offset).
type Coord = (i32, i64);

fn ledger_target(name: &str, dir: &Path, settings: Value) -> Value {
    let mut s = settings;
    s["path"] = json!(dir.join(format!("{name}.jsonl")));
    json!({"custom": {"name": name, "kind": "ledger", "settings": s,
                      "delivery": {"batch": {"max_records": 100, "max_wait": "5ms"}}}})
}

/// A good record: every third is `kind: gold`, every tenth has a `vip-` key.
fn good(i: usize) -> RawRecord {
    let key = if i.is_multiple_of(10) {
        format!("vip-{i}")
    } else {
        format!("k{}", i % 37)
    };
    let kind = if i.is_multiple_of(3) { "gold" } else { "plain" };
    RawRecord {
        partition: (i % PARTITIONS as usize) as i32,
        key: Some(key.into_bytes()),
        value: Some(
            json!({"seq": i, "kind": kind, "amount": i % 100})
                .to_string()
                .into_bytes(),
        ),
        headers: vec![(b"trace".to_vec(), Some(format!("t{i}").into_bytes()))],
    }
}

/// What each bad record is, and where it must end.
struct Bad {
    name: &'static str,
    record: RawRecord,
    /// Delivered to these ledgers (the others must not have it).
    delivered_to: &'static [&'static str],
    /// Dead-lettered by the `gold` target.
    dead_lettered: bool,
}

fn bad_records() -> Vec<Bad> {
    let bad_header_name: &[u8] = b"\xff\xfeh\x80name";
    let wide = {
        let mut v = String::from("{");
        for i in 0..100_000 {
            v.push_str(&format!("\"m{i}\":{i},"));
        }
        v.push_str("\"kind\":\"gold\"}");
        v
    };
    let deep = format!(
        "{{\"deep\":{}{},\"kind\":\"gold\"}}",
        "[".repeat(1_000_000),
        "]".repeat(1_000_000)
    );
    let huge = format!(
        "{{\"kind\":\"gold\",\"blob\":\"{}\"}}",
        "x".repeat(6 * 1024 * 1024)
    );
    let rec = |partition: i32, key: &[u8], value: Option<String>| RawRecord {
        partition,
        key: Some(key.to_vec()),
        value: value.map(String::into_bytes),
        headers: vec![(b"trace".to_vec(), Some(b"bad".to_vec()))],
    };
    let mut header = rec(
        0,
        b"bad-header",
        Some(json!({"kind": "gold", "seq": "bad-header"}).to_string()),
    );
    header.headers = vec![
        (bad_header_name.to_vec(), Some(b"v\xff1".to_vec())),
        (b"trace".to_vec(), Some(b"bad".to_vec())),
        (b"\xc3".to_vec(), Some(Vec::new())),
    ];
    vec![
        Bad {
            name: "non-UTF-8 header name, rejected by gold",
            record: header,
            delivered_to: &["all"],
            dead_lettered: true,
        },
        Bad {
            name: "100,000-member object with a vip key",
            record: rec(1, b"vip-wide", Some(wide)),
            delivered_to: &["gold", "all", "vip"],
            dead_lettered: false,
        },
        Bad {
            name: "array nested 1,000,000 deep",
            record: rec(2, b"deep", Some(deep)),
            delivered_to: &["gold", "all"],
            dead_lettered: false,
        },
        Bad {
            name: "6 MiB value, rejected by gold",
            record: rec(3, b"huge", Some(huge)),
            delivered_to: &["all"],
            dead_lettered: true,
        },
        Bad {
            name: "tombstone",
            record: rec(4, b"tomb", None),
            delivered_to: &["all"],
            dead_lettered: false,
        },
        Bad {
            // Not UTF-8, so the view has no key: the vip route cannot match it.
            name: "binary key starting with vip-",
            record: rec(
                5,
                b"vip-\xff\xfe\x00\x01",
                Some(json!({"kind": "gold", "seq": "binary-key"}).to_string()),
            ),
            delivered_to: &["gold", "all"],
            dead_lettered: false,
        },
    ]
}

/// (partition, offset) → deliveries, per ledger line.
fn delivered(path: &Path) -> BTreeMap<Coord, usize> {
    let mut m = BTreeMap::new();
    for l in ledger(path) {
        let c = (
            l["partition"].as_i64().unwrap() as i32,
            l["offset"].as_i64().unwrap(),
        );
        *m.entry(c).or_insert(0) += 1;
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_among_good_ones_break_nothing() {
    let kafka = Tansu::start();
    let topic = unique("adversarial");
    let dlq = unique("adversarial-dlq");
    kafka.create_topic(&topic, PARTITIONS).await;
    kafka.create_topic(&dlq, 1).await;
    let dir = temp_dir("adversarial");
    let group = unique("g");
    let routes = json!([
        {"name": "gold", "topics": [topic], "filters": [{"pattern": {"value": {"kind": ["gold"]}}}],
         "targets": [ledger_target("gold", &dir, json!({"permanent_keys": ["bad-header", "huge"]}))]},
        {"name": "all", "topics": [topic], "targets": [ledger_target("all", &dir, json!({}))]},
        {"name": "vip", "topics": [topic], "filters": [{"pattern": {"key": [{"prefix": "vip-"}]}}],
         "targets": [ledger_target("vip", &dir, json!({}))]},
    ]);
    let port = free_port();
    let config = Setup {
        dir: &dir,
        bootstrap: &kafka.bootstrap,
        group: &group,
        dlq: &dlq,
        port,
        routes,
        dlq_extra: "",
        engine_extra: "",
    }
    .write();

    // Good records, then the bad ones (through kafka-python), then more good ones: the bad
    // records share batches with good ones.
    let half: Vec<RawRecord> = (0..GOOD / 2).map(good).collect();
    let rest: Vec<RawRecord> = (GOOD / 2..GOOD).map(good).collect();
    let bad = bad_records();
    let mut good_at: Vec<(usize, Coord)> = Vec::with_capacity(GOOD);
    for (i, c) in kafka
        .produce_bytes(&topic, &half)
        .await
        .into_iter()
        .enumerate()
    {
        good_at.push((i, c));
    }
    let bad_records: Vec<RawRecord> = bad.iter().map(|b| b.record.clone()).collect();
    let bad_at = kafka.produce_with_python(&topic, &bad_records);
    for (i, c) in kafka
        .produce_bytes(&topic, &rest)
        .await
        .into_iter()
        .enumerate()
    {
        good_at.push((GOOD / 2 + i, c));
    }
    // tansu kept the header name's bytes: partition 0 (where that record is) read back raw.
    let (p, o) = bad_at[0];
    assert_eq!(p, 0);
    let source = kafka.read_topic_raw(&topic, 1, 0, Duration::from_secs(30));
    let stored = source.iter().find(|r| r.offset == o).expect("stored");
    assert_eq!(
        stored.headers, bad[0].record.headers,
        "tansu stores the names as sent"
    );
    assert_eq!(stored.value, bad[0].record.value);
    let mut ends = BTreeMap::<i32, i64>::new();
    for &(p, o) in good_at.iter().map(|(_, c)| c).chain(&bad_at) {
        let end = ends.entry(p).or_insert(0);
        *end = (*end).max(o + 1);
    }
    assert_eq!(ends.len(), PARTITIONS as usize);
    assert_eq!(
        ends.values().sum::<i64>(),
        (GOOD + bad.len()) as i64,
        "offsets are dense: every partition starts at 0"
    );

    // Who must get what.
    let mut want: BTreeMap<&str, BTreeSet<Coord>> = BTreeMap::new();
    for (i, c) in &good_at {
        want.entry("all").or_default().insert(*c);
        if i.is_multiple_of(3) {
            want.entry("gold").or_default().insert(*c);
        }
        if i.is_multiple_of(10) {
            want.entry("vip").or_default().insert(*c);
        }
    }
    for (b, c) in bad.iter().zip(&bad_at) {
        for t in b.delivered_to {
            want.entry(t).or_default().insert(*c);
        }
    }

    let log = dir.join("fanout.log");
    let mut fanout = Fanout::start(&config, &log, port);
    fanout.wait_http(Duration::from_secs(60)).await;
    let deadline = Instant::now() + WAIT;
    loop {
        fanout.assert_running();
        let committed: BTreeMap<i32, Option<i64>> = (0..PARTITIONS)
            .map(|p| (p, kafka.committed(&group, &topic, p)))
            .collect();
        if committed.iter().all(|(p, c)| *c == Some(ends[p])) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "partitions did not commit to their ends {ends:?}: {committed:?}; status {}",
            fanout.status()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Every partition committed to its end: every record finished. Anything else written now
    // would be a second delivery; read the DLQ until it is quiet.
    let dead = kafka.read_topic_raw(&dlq, 1, 2, WAIT);
    fanout.assert_running();
    let status = fanout.status();
    let code = fanout.stop();
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(code, Some(0), "a SIGTERM stop exits 0; log:\n{log_text}");
    assert!(
        !log_text.contains("panic"),
        "no panic, caught or not:\n{log_text}"
    );

    for target in ["gold", "all", "vip"] {
        let got = delivered(&dir.join(format!("{target}.jsonl")));
        let twice: Vec<_> = got.iter().filter(|(_, n)| **n != 1).collect();
        assert!(
            twice.is_empty(),
            "{target}: delivered more than once: {twice:?}"
        );
        let got: BTreeSet<Coord> = got.into_keys().collect();
        let want = &want[target];
        let missing: Vec<_> = want.difference(&got).take(10).collect();
        let extra: Vec<_> = got.difference(want).take(10).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{target}: missing {missing:?}, not matched but delivered {extra:?}"
        );
        assert_eq!(got.len(), want.len());
    }
    assert_eq!(want["all"].len(), GOOD + 6);
    assert_eq!(want["gold"].len(), 3_334 + 3);
    assert_eq!(want["vip"].len(), 1_000 + 1);

    // Exactly the two records gold rejected, each whole, with its original headers (names as
    // the bytes they were) followed by fanout's.
    assert_eq!(
        dead.len(),
        2,
        "{:?}",
        dead.iter().map(|d| &d.key).collect::<Vec<_>>()
    );
    for (b, &(partition, offset)) in bad.iter().zip(&bad_at).filter(|(b, _)| b.dead_lettered) {
        let d = dead
            .iter()
            .find(|d| d.key == b.record.key)
            .unwrap_or_else(|| panic!("{} not dead-lettered", b.name));
        assert!(d.value == b.record.value, "{}: the value, whole", b.name);
        let original = &d.headers[..b.record.headers.len()];
        assert_eq!(
            original,
            &b.record.headers[..],
            "{}: original headers first",
            b.name
        );
        let fanout_headers: BTreeMap<&[u8], &[u8]> = d.headers[b.record.headers.len()..]
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref().unwrap_or_default()))
            .collect();
        assert!(fanout_headers.keys().all(|k| k.starts_with(b"fanout.")));
        let h = |name: &str| {
            let v = fanout_headers
                .get(name.as_bytes())
                .copied()
                .unwrap_or_default();
            String::from_utf8_lossy(v).into_owned()
        };
        assert_eq!(h(headers::TARGET), "gold/gold", "{}", b.name);
        assert_eq!(h(headers::ERROR_KIND), "invalid_payload");
        assert_eq!(h(headers::ERROR_CLASS), "permanent");
        assert_eq!(h(headers::ERROR_CODE), "PermanentKey");
        assert_eq!(h(headers::REASON), "permanent_error");
        assert_eq!(h(headers::ATTEMPTS), "1");
        assert_eq!(h(headers::SOURCE_TOPIC), topic);
        assert_eq!(h(headers::SOURCE_PARTITION), partition.to_string());
        assert_eq!(h(headers::SOURCE_OFFSET), offset.to_string());
    }

    // What /status said while running: nothing failing, every partition committed to its end.
    assert_eq!(status["dlq"]["failing_lanes"], json!([]), "{status}");
    for t in status["targets"].as_array().unwrap() {
        assert_eq!(t["up"], true, "{t}");
    }
    let committed: BTreeMap<i32, i64> = status["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["partition"].as_i64().unwrap() as i32,
                p["committed"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(
        committed, ends,
        "/status shows each partition's confirmed commit (-1: none confirmed): {status}"
    );
}
