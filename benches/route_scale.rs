//! How matching cost grows with the route count on realistic, skewed data: `match_parts` from
//! raw bytes at 1, 100, 1,000 and 10,000 EventBridge patterns, in a selective mode (a few
//! matches per record) and a dense mode (many), on 10,000 order, payment, shipment and return
//! records with Zipf-skewed entities (see `corpus/skewed.rs`).
//!
//! `cargo bench --bench route_scale`. Before measuring, every table is checked against naive
//! evaluation on every record, and the bench prints per table: build time, heap held by the
//! table, matches per record, routes looked at and candidates confirmed per record. After the
//! criterion group (whose slow tables run on a slice of the records per iteration) it times every table again in interleaved rounds and prints records/s and
//! the ratio to N = 1 of the same mode (the numbers BENCHMARKS.md reports).
//!
//! `FANOUT_SCALE_COUNTS=1,1000` limits the pattern counts, `FANOUT_SCALE_MODES=selective`
//! the modes, `FANOUT_SCALE_ROUNDS=3` the summary's rounds (`0`: no summary);
//! `FANOUT_SCALE_CHECK=0` skips the naive checks (and their counts), e.g. to count instructions
//! of the summary's matching alone under callgrind.

#[path = "corpus/skewed.rs"]
mod skewed;

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use fanout_router::{MatchScratch, RouteTable};
use serde_json::{Value, json};

use skewed::{KafkaRecord, Mode, Pools, TOPIC};

/// The system allocator, counting the bytes in use (to report what a table holds).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to `System` unchanged; only counts sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's layout contract is passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const RECORDS: usize = 10_000;
const COUNTS: [usize; 4] = [1, 100, 1_000, 10_000];

/// A built table and what was measured about it.
struct Table {
    mode: Mode,
    n: usize,
    table: RouteTable,
    build: Duration,
    heap: usize,
    matches: f64,
    looked_at: f64,
    confirmed: f64,
    /// Records per criterion iteration: about 100 ms of work.
    per_iteration: usize,
}

/// One route per pattern, all on [`TOPIC`]; the build time and the heap the table holds.
fn build(patterns: &[Value]) -> (RouteTable, Duration, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    let mut builder = RouteTable::builder();
    for (i, pattern) in patterns.iter().enumerate() {
        let cfg = serde_json::from_value(json!({
            "name": format!("r{i}"), "topics": [TOPIC],
            "filters": [{"pattern": {"value": pattern}}],
            "targets": [{"lambda": {"function": "f"}}],
        }))
        .expect("route config");
        builder.add_route(&cfg);
    }
    let start = Instant::now();
    let table = builder.build().expect("valid routes");
    let elapsed = start.elapsed();
    let heap = LIVE.load(Ordering::Relaxed).saturating_sub(before);
    (table, elapsed, heap)
}

/// Checks `table` against naive evaluation on every record (on two threads) and counts matches,
/// routes looked at and candidates confirmed per record.
fn check(table: &RouteTable, records: &[KafkaRecord]) -> (f64, f64, f64) {
    let half = records.len() / 2;
    let totals = std::thread::scope(|s| {
        let workers: Vec<_> = [&records[..half], &records[half..]]
            .into_iter()
            .map(|slice| {
                s.spawn(move || {
                    let (mut out, mut naive, mut full) = (Vec::new(), Vec::new(), Vec::new());
                    let mut scratch = MatchScratch::new();
                    let mut matches = 0;
                    for r in slice {
                        r.match_parts(TOPIC, table, &mut out);
                        let view = r.view(TOPIC);
                        table.match_record_naive(&view, &mut naive);
                        assert_eq!(out, naive, "compiled and naive disagree on {:?}", r.offset);
                        table.match_record_with(&view, &mut scratch, &mut full);
                        assert_eq!(out, full, "parts and full view disagree");
                        matches += out.len();
                    }
                    (matches, scratch.looked_at(), scratch.confirmed())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("check thread"))
            .fold((0, 0, 0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2))
    });
    let per = |x: u64| x as f64 / records.len() as f64;
    (per(totals.0 as u64), per(totals.1), per(totals.2))
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Selective => "selective",
        Mode::Dense => "dense",
    }
}

fn env_list(name: &str) -> Option<Vec<String>> {
    std::env::var(name)
        .ok()
        .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
}

fn main() {
    let counts: Vec<usize> = env_list("FANOUT_SCALE_COUNTS")
        .map(|v| v.iter().map(|s| s.parse().expect("a count")).collect())
        .unwrap_or(COUNTS.to_vec());
    let modes: Vec<Mode> = env_list("FANOUT_SCALE_MODES")
        .map(|v| {
            v.iter()
                .map(|s| match s.as_str() {
                    "selective" => Mode::Selective,
                    "dense" => Mode::Dense,
                    other => panic!("unknown mode {other}"),
                })
                .collect()
        })
        .unwrap_or(vec![Mode::Selective, Mode::Dense]);
    let checked = !matches!(std::env::var("FANOUT_SCALE_CHECK").as_deref(), Ok("0"));
    let rounds: usize = std::env::var("FANOUT_SCALE_ROUNDS")
        .ok()
        .map_or(3, |v| v.parse().expect("a number"));

    let pools = Pools::new();
    let records = skewed::records(&pools, RECORDS);
    let bytes: usize = records.iter().map(|r| r.value.len()).sum();
    println!(
        "corpus: {RECORDS} records, value {} B on average ({}–{} B)",
        bytes / RECORDS,
        records.iter().map(|r| r.value.len()).min().unwrap_or(0),
        records.iter().map(|r| r.value.len()).max().unwrap_or(0),
    );

    let mut tables = Vec::new();
    for &mode in &modes {
        let all = skewed::patterns(&pools, mode, counts.iter().copied().max().unwrap_or(1));
        for &n in &counts {
            let (table, build, heap) = build(&all[..n]);
            let started = Instant::now();
            let (matches, looked_at, confirmed) = if checked {
                check(&table, &records)
            } else {
                (f64::NAN, f64::NAN, f64::NAN)
            };
            let timed = Instant::now();
            let mut out = Vec::new();
            records[..200]
                .iter()
                .for_each(|r| r.match_parts(TOPIC, &table, &mut out));
            let per_record = timed.elapsed() / 200;
            let per_iteration = (Duration::from_millis(100).as_nanos()
                / per_record.as_nanos().max(1))
            .clamp(100, RECORDS as u128) as usize;
            println!(
                "{}/{n}: build {:.1} ms, heap {:.1} MiB, {matches:.2} matches/record, \
                 {looked_at:.1} looked at, {confirmed:.2} confirmed/record \
                 (checked against naive on every record in {:.1} s)",
                mode_name(mode),
                build.as_secs_f64() * 1e3,
                heap as f64 / (1 << 20) as f64,
                started.elapsed().as_secs_f64(),
            );
            tables.push(Table {
                mode,
                n,
                table,
                build,
                heap,
                matches,
                looked_at,
                confirmed,
                per_iteration,
            });
        }
    }

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("route-scale");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let mut out = Vec::new();
    for t in &tables {
        let records = &records[..t.per_iteration];
        group.throughput(Throughput::Elements(records.len() as u64));
        let id = BenchmarkId::new(format!("{}/fanout-parts", mode_name(t.mode)), t.n);
        group.bench_with_input(id, &t.table, |b, table| {
            b.iter(|| {
                let mut matched = 0;
                for r in records {
                    r.match_parts(TOPIC, table, &mut out);
                    matched += out.len();
                }
                matched
            })
        });
    }
    group.finish();
    c.final_summary();

    if rounds == 0 {
        return;
    }
    // Interleaved rounds: every table once per round, the best pass of each kept, so that the
    // ratios compare tables measured under the same load.
    let mut best = vec![Duration::MAX; tables.len()];
    for _ in 0..rounds {
        for (t, best) in tables.iter().zip(&mut best) {
            let start = Instant::now();
            for r in &records {
                r.match_parts(TOPIC, &t.table, &mut out);
                black_box(&out);
            }
            *best = (*best).min(start.elapsed());
        }
    }
    println!(
        "\n| mode | routes | records/s | ns/record | vs N=1 | matches/record | looked at/record | confirmed/record | build | heap |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (i, t) in tables.iter().enumerate() {
        let rate = RECORDS as f64 / best[i].as_secs_f64();
        let base = tables
            .iter()
            .zip(&best)
            .find(|(b, _)| b.mode == t.mode && b.n == 1)
            .map(|(_, d)| RECORDS as f64 / d.as_secs_f64());
        let ratio = base.map_or(String::from("—"), |b| {
            format!("{:.1} %", 100.0 * rate / b)
        });
        println!(
            "| {} | {} | {rate:.0} | {:.0} | {ratio} | {:.2} | {:.1} | {:.2} | {:.1} ms | {:.1} MiB |",
            mode_name(t.mode),
            t.n,
            best[i].as_nanos() as f64 / RECORDS as f64,
            t.matches,
            t.looked_at,
            t.confirmed,
            t.build.as_secs_f64() * 1e3,
            t.heap as f64 / (1 << 20) as f64,
        );
    }
}
