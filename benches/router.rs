//! Router matching throughput: fanout's compiled route table against the `quamina` crate and
//! the parse-only ceiling, at 1 to 10,000 EventBridge patterns; and JSONPath filters, compiled
//! vs evaluated in turn. Records and patterns come from `corpus` (deterministic).
//!
//! `cargo bench --bench router`. Before measuring, prints for each pattern count the matches
//! per record (fanout, and quamina where it builds), build times, and checks that the compiled
//! table agrees with naive evaluation on the corpus. See BENCHMARKS.md for results.

mod corpus;

use std::hint::black_box;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use fanout_router::{RecordView, RouteId, RouteTable};
use quamina::{Quamina, QuaminaBuilder};
use serde_json::{Map, Value, json};

use corpus::{KafkaRecord, TOPIC};

const RECORDS: usize = 10_000;
const PATTERN_COUNTS: [usize; 4] = [1, 100, 1_000, 10_000];
const JSONPATH_COUNTS: [usize; 3] = [1, 100, 1_000];

/// The same view, with the value parsed by `sonic-rs` into a `serde_json::Value`.
fn view_sonic(r: &KafkaRecord) -> RecordView {
    let mut headers = Map::new();
    for (name, value) in &r.headers {
        headers.insert(
            name.clone(),
            Value::String(String::from_utf8_lossy(value).into_owned()),
        );
    }
    let mut view = Map::new();
    view.insert("topic".into(), TOPIC.into());
    view.insert("partition".into(), r.partition.into());
    view.insert("offset".into(), r.offset.into());
    view.insert("timestamp".into(), r.timestamp.into());
    view.insert(
        "key".into(),
        Value::String(String::from_utf8_lossy(&r.key).into_owned()),
    );
    view.insert("headers".into(), Value::Object(headers));
    let value: Value = sonic_rs::from_slice(&r.value).expect("valid JSON");
    view.insert("value".into(), value);
    RecordView::from_view(Value::Object(view))
}

/// One route per filter, all on [`TOPIC`]; returns the table and the build time.
fn table_of(filters: impl IntoIterator<Item = Value>) -> (RouteTable, Duration) {
    let mut builder = RouteTable::builder();
    for (i, filter) in filters.into_iter().enumerate() {
        let cfg = serde_json::from_value(json!({
            "name": format!("r{i}"), "topics": [TOPIC], "filters": [filter],
            "targets": [{"lambda": {"function": "f"}}],
        }))
        .expect("route config");
        builder.add_route(&cfg);
    }
    let start = Instant::now();
    let table = builder.build().expect("valid routes");
    (table, start.elapsed())
}

/// Matches per record with the compiled table, checked against naive evaluation on `check`
/// records.
fn matches_per_record(table: &RouteTable, records: &[KafkaRecord], check: usize) -> f64 {
    let (mut out, mut naive, mut read) = (Vec::<RouteId>::new(), Vec::new(), Vec::new());
    let mut total = 0;
    for (i, r) in records.iter().enumerate() {
        let view = r.view(TOPIC);
        table.match_record(&view, &mut out);
        r.match_parts(TOPIC, table, &mut read);
        assert_eq!(out, read, "full view and parts disagree on record {i}");
        if i < check {
            table.match_record_naive(&view, &mut naive);
            assert_eq!(out, naive, "compiled and naive disagree on record {i}");
        }
        total += out.len();
    }
    total as f64 / records.len() as f64
}

/// quamina with `patterns`, or why it could not be built. Its automaton is completed lazily,
/// on the first event, so one event is matched here too.
fn quamina_of(patterns: &[Value], event: &[u8]) -> Result<Quamina<u32>, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let built = catch_unwind(AssertUnwindSafe(|| {
        // Its default 10 MiB automaton budget is exceeded below 1,000 of these patterns; let it
        // use as much memory as it likes, but give up after a minute.
        let mut q = QuaminaBuilder::<u32>::new()
            .with_arena_byte_budget(8 << 30)
            .build()
            .map_err(|e| e.to_string())?;
        let start = Instant::now();
        for (i, p) in patterns.iter().enumerate() {
            q.add_pattern(i as u32, &p.to_string())
                .map_err(|e| format!("pattern {i}: {e}"))?;
            if start.elapsed() > Duration::from_secs(60) {
                return Err(format!("gave up after 60 s at pattern {i}"));
            }
        }
        q.matches_for_event(event).map_err(|e| e.to_string())?;
        Ok(q)
    }));
    std::panic::set_hook(hook);
    built.unwrap_or_else(|panic| {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err(format!("panicked: {message}"))
    })
}

/// Records per timed iteration for the slow baselines: about 50 ms of work.
fn subset(per_record: Duration) -> usize {
    (Duration::from_millis(50).as_nanos() / per_record.as_nanos().max(1)).clamp(20, RECORDS as u128)
        as usize
}

fn time_per_record(records: &[KafkaRecord], f: &mut dyn FnMut(&KafkaRecord)) -> Duration {
    let start = Instant::now();
    let n = records.len().min(200);
    records[..n].iter().for_each(&mut *f);
    start.elapsed() / n as u32
}

fn bench_patterns(c: &mut Criterion) {
    let records = corpus::records(RECORDS);
    let bytes: usize = records.iter().map(|r| r.value.len()).sum();
    println!(
        "corpus: {RECORDS} records, value {} B on average ({}–{} B)",
        bytes / RECORDS,
        records.iter().map(|r| r.value.len()).min().unwrap_or(0),
        records.iter().map(|r| r.value.len()).max().unwrap_or(0),
    );
    let all_patterns = corpus::value_patterns(*PATTERN_COUNTS.last().unwrap_or(&1));
    let mut group = c.benchmark_group("router");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    group.throughput(Throughput::Elements(RECORDS as u64));
    group.bench_function("parse-only/serde_json", |b| {
        b.iter(|| {
            for r in &records {
                black_box(serde_json::from_slice::<Value>(&r.value).expect("JSON"));
            }
        })
    });
    group.bench_function("parse-only/sonic-rs", |b| {
        b.iter(|| {
            for r in &records {
                black_box(sonic_rs::from_slice::<sonic_rs::Value>(&r.value).expect("JSON"));
            }
        })
    });
    group.bench_function("parse-only/sonic-rs-to-serde_json-value", |b| {
        b.iter(|| {
            for r in &records {
                black_box(sonic_rs::from_slice::<Value>(&r.value).expect("JSON"));
            }
        })
    });
    group.bench_function("parse-only/simd-json", |b| {
        let mut buffer = Vec::new();
        b.iter(|| {
            for r in &records {
                buffer.clear();
                buffer.extend_from_slice(&r.value);
                black_box(simd_json::to_owned_value(&mut buffer).expect("JSON"));
            }
        })
    });
    group.bench_function("record-view-only", |b| {
        b.iter(|| {
            for r in &records {
                black_box(r.view(TOPIC));
            }
        })
    });

    for &n in &PATTERN_COUNTS {
        let patterns = &all_patterns[..n];
        let (table, build) = table_of(patterns.iter().map(|p| json!({"pattern": {"value": p}})));
        // Naive evaluation of 10,000 patterns takes ~20 ms a record: check fewer there.
        let per_record = matches_per_record(&table, &records, 3_000_000 / (n + 1_000));
        println!(
            "patterns {n}: build {:.1} ms, fanout {per_record:.3} matches/record",
            build.as_secs_f64() * 1e3
        );
        let mut out = Vec::new();
        group.throughput(Throughput::Elements(RECORDS as u64));
        group.bench_with_input(BenchmarkId::new("fanout", n), &table, |b, table| {
            b.iter(|| {
                let mut matched = 0;
                for r in &records {
                    table.match_record(&r.view(TOPIC), &mut out);
                    matched += out.len();
                }
                matched
            })
        });
        group.bench_with_input(BenchmarkId::new("fanout-parts", n), &table, |b, table| {
            b.iter(|| {
                let mut matched = 0;
                for r in &records {
                    r.match_parts(TOPIC, table, &mut out);
                    matched += out.len();
                }
                matched
            })
        });
        if n == 1_000 {
            group.bench_with_input(
                BenchmarkId::new("fanout-sonic-rs", n),
                &table,
                |b, table| {
                    b.iter(|| {
                        let mut matched = 0;
                        for r in &records {
                            table.match_record(&view_sonic(r), &mut out);
                            matched += out.len();
                        }
                        matched
                    })
                },
            );
        }

        let naive_cost = time_per_record(&records, &mut |r| {
            table.match_record_naive(&r.view(TOPIC), &mut out);
        });
        let k = subset(naive_cost);
        group.throughput(Throughput::Elements(k as u64));
        group.bench_with_input(BenchmarkId::new("naive", n), &table, |b, table| {
            b.iter(|| {
                for r in &records[..k] {
                    table.match_record_naive(&r.view(TOPIC), &mut out);
                }
            })
        });

        let built = Instant::now();
        match quamina_of(patterns, &records[0].value) {
            Ok(q) => {
                let build = built.elapsed();
                let hits: usize = records
                    .iter()
                    .map(|r| q.matches_for_event(&r.value).map_or(0, |m| m.len()))
                    .sum();
                println!(
                    "patterns {n}: quamina build {:.1} ms, {:.3} matches/record",
                    build.as_secs_f64() * 1e3,
                    hits as f64 / records.len() as f64
                );
                let cost = time_per_record(&records, &mut |r| {
                    black_box(q.matches_for_event(&r.value).ok());
                });
                let k = subset(cost);
                group.throughput(Throughput::Elements(k as u64));
                group.bench_with_input(BenchmarkId::new("quamina", n), &q, |b, q| {
                    b.iter(|| {
                        for r in &records[..k] {
                            black_box(q.matches_for_event(&r.value).ok());
                        }
                    })
                });
            }
            Err(e) => println!("patterns {n}: quamina did not build: {e}"),
        }
    }
    group.finish();
}

fn bench_jsonpath(c: &mut Criterion) {
    let records = corpus::records(RECORDS);
    let all = corpus::jsonpath_filters(*JSONPATH_COUNTS.last().unwrap_or(&1));
    let mut group = c.benchmark_group("router-jsonpath");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut out = Vec::new();
    for &n in &JSONPATH_COUNTS {
        let (table, build) = table_of(all[..n].iter().map(|e| json!({"jsonpath": e})));
        let per_record = matches_per_record(&table, &records, 300);
        println!(
            "jsonpath routes {n}: build {:.1} ms, {per_record:.3} matches/record",
            build.as_secs_f64() * 1e3
        );
        group.throughput(Throughput::Elements(RECORDS as u64));
        group.bench_with_input(BenchmarkId::new("fanout", n), &table, |b, table| {
            b.iter(|| {
                for r in &records {
                    table.match_record(&r.view(TOPIC), &mut out);
                }
            })
        });
        group.bench_with_input(BenchmarkId::new("fanout-parts", n), &table, |b, table| {
            b.iter(|| {
                for r in &records {
                    r.match_parts(TOPIC, table, &mut out);
                }
            })
        });
        let cost = time_per_record(&records, &mut |r| {
            table.match_record_naive(&r.view(TOPIC), &mut out);
        });
        let k = subset(cost);
        group.throughput(Throughput::Elements(k as u64));
        group.bench_with_input(BenchmarkId::new("each-in-turn", n), &table, |b, table| {
            b.iter(|| {
                for r in &records[..k] {
                    table.match_record_naive(&r.view(TOPIC), &mut out);
                }
            })
        });
    }
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_patterns(&mut c);
    bench_jsonpath(&mut c);
    c.final_summary();
}
