//! Parse + match cost per byte as records grow from 1 KiB to 8 MiB, for each shape a record can
//! take: a wide object, deep nesting, a long string, many headers and a realistic nested order.
//! Linear parsing means the cost per byte stays flat; a quadratic step (as the member scan of
//! wide objects was) shows as a cost per byte growing with the size.
//!
//! Every record goes through [`RouteTable::match_parts`] (what the engine does) with the same
//! few realistic routes: patterns on `value` members and on headers, a JSONPath filter on
//! `value.items`, and `exists` patterns on `value.attrs` and `headers`, which make the table
//! read those whole (so they are built into the parsed document, repeated names looked up,
//! rather than only checked). Each shape's record is built so that the whole-read parts and the
//! skipped parts (only checked to be JSON) grow with it; before measuring, each record is
//! checked to match the routes it should, with the same result as the full view. The
//! allocator is the `fanout` binary's (mimalloc).
//!
//! `cargo bench --bench parse_scale` (criterion, `Throughput::Bytes`: the report is bytes per
//! second; BENCHMARKS.md lists the cost per byte). Takes about three minutes.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use fanout::router::{RecordParts, RecordView, RouteId, RouteTable};

const TOPIC: &str = "orders";
const SIZES: [(usize, &str); 4] = [
    (1 << 10, "1KiB"),
    (64 << 10, "64KiB"),
    (1 << 20, "1MiB"),
    (8 << 20, "8MiB"),
];

const ROUTES: &str = r#"
routes:
  - name: big-placed
    topics: [orders]
    filters: [{pattern: {"value": {"status": ["placed"], "amount": [{"numeric": [">", 100]}]}}}]
    targets: [{lambda: {function: fraud}}]
  - name: gold-customers
    topics: [orders]
    filters: [{pattern: {"value": {"customer": {"tier": ["gold"]}}}}]
    targets: [{lambda: {function: loyalty}}]
  - name: web-orders
    topics: [orders]
    filters: [{pattern: {"headers": {"source": ["web"]}}}]
    targets: [{lambda: {function: web}}]
  - name: sku-a1
    topics: [orders]
    filters: [{jsonpath: "@.value.items[?@.sku == 'A-1']"}]
    targets: [{lambda: {function: sku}}]
  - name: vip-attribute
    topics: [orders]
    filters: [{pattern: {"value": {"attrs": {"tier": ["vip"]}}}}]
    targets: [{lambda: {function: vip}}]
  - name: has-attributes
    topics: [orders]
    filters: [{pattern: {"value": {"attrs": [{"exists": true}]}}}]
    targets: [{lambda: {function: attrs}}]
  - name: replayed
    topics: [orders]
    filters: [{pattern: {"headers": {"x-replay": ["replay"]}}}]
    targets: [{lambda: {function: replay}}]
  - name: any-headers
    topics: [orders]
    filters: [{pattern: {"headers": [{"exists": true}]}}]
    targets: [{lambda: {function: headers}}]
"#;

/// A record: its value and headers.
struct Record {
    value: Vec<u8>,
    headers: Vec<(String, Vec<u8>)>,
}

impl Record {
    fn bytes(&self) -> usize {
        self.value.len()
            + self
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>()
    }

    fn parts(&self) -> RecordParts<'_> {
        RecordParts {
            topic: TOPIC,
            partition: 0,
            offset: 42,
            timestamp: Some(1_700_000_000_000),
            key: Some(b"order-17"),
            value: Some(&self.value),
        }
    }

    fn headers(&self) -> impl Iterator<Item = (&str, Option<&[u8]>)> {
        self.headers
            .iter()
            .map(|(n, v)| (n.as_str(), Some(v.as_slice())))
    }
}

/// The members every order has (these the patterns read), after `body` (so they come late).
fn order(body: &str) -> Vec<u8> {
    format!(r#"{{{body},"id":"o-17","status":"placed","amount":250,"customer":{{"tier":"gold","id":"c-9"}}}}"#)
        .into_bytes()
}

fn small_headers() -> Vec<(String, Vec<u8>)> {
    vec![
        ("source".into(), b"web".to_vec()),
        ("trace-id".into(), b"4bf92f3577b34da6".to_vec()),
    ]
}

/// `attrs` with distinct names filling `size` bytes, the last one `vip`.
fn wide(size: usize) -> Record {
    let mut body = String::from(r#""attrs":{"#);
    let mut i = 0;
    while body.len() < size.saturating_sub(110) {
        body.push_str(&format!(r#""a{i}":"v{i}","#));
        i += 1;
    }
    body.push_str(r#""tier":"vip"}"#);
    Record {
        value: order(&body),
        headers: small_headers(),
    }
}

/// A skipped member nested objects-in-arrays deep enough to fill `size` bytes.
fn deep(size: usize) -> Record {
    let levels = size.saturating_sub(150) / 9;
    let body = format!(
        r#""attrs":{{"tier":"vip"}},"trace":{}0{}"#,
        r#"[{"k":"#.repeat(levels),
        "}]".repeat(levels)
    );
    Record {
        value: order(&body),
        headers: small_headers(),
    }
}

/// A read string (`attrs.note`, a log text with a line break every 100 bytes) of `size` bytes.
fn long_string(size: usize) -> Record {
    let line = format!("{}\\n", "x".repeat(98));
    let note = line.repeat(size.saturating_sub(150) / line.len());
    let body = format!(r#""attrs":{{"note":"{note}","tier":"vip"}}"#);
    Record {
        value: order(&body),
        headers: small_headers(),
    }
}

/// A small order and headers (`x-h{i}: value-{i}`) filling `size` bytes, the last `replay`.
fn many_headers(size: usize) -> Record {
    let value = order(r#""attrs":{"tier":"vip"}"#);
    let mut headers = small_headers();
    let mut bytes = value.len() + 30;
    let mut i = 0;
    while bytes < size.saturating_sub(20) {
        let (name, v) = (format!("x-h{i}"), format!("value-{i}"));
        bytes += name.len() + v.len();
        headers.push((name, v.into_bytes()));
        i += 1;
    }
    headers.push(("x-replay".into(), b"replay".to_vec()));
    Record { value, headers }
}

/// A realistic order: line items (each with a few attributes and tags) filling `size` bytes.
fn nested_order(size: usize) -> Record {
    let mut items = Vec::new();
    let mut len = 0;
    let mut i = 0;
    while len < size.saturating_sub(300) {
        let item = format!(
            r#"{{"sku":"B-{i}","qty":{},"price":{}.{:02},"tags":["gift","fragile"],"options":{{"color":"blue","size":"M"}}}}"#,
            i % 7 + 1,
            i % 300,
            i % 100
        );
        len += item.len() + 1;
        items.push(item);
        i += 1;
    }
    items.push(r#"{"sku":"A-1","qty":1,"price":9.5}"#.into());
    let body = format!(
        r#""items":[{}],"shipping":{{"city":"Lyon","zip":"69001","lines":["1 rue A","Bât. B"]}},"attrs":{{"tier":"vip"}}"#,
        items.join(",")
    );
    Record {
        value: order(&body),
        headers: small_headers(),
    }
}

type Shape = (&'static str, fn(usize) -> Record, &'static [&'static str]);

/// The shapes and the routes each record matches.
const SHAPES: [Shape; 5] = [
    (
        "wide_object",
        wide,
        &[
            "big-placed",
            "gold-customers",
            "web-orders",
            "vip-attribute",
        ],
    ),
    (
        "deep_nesting",
        deep,
        &[
            "big-placed",
            "gold-customers",
            "web-orders",
            "vip-attribute",
        ],
    ),
    (
        "long_string",
        long_string,
        &[
            "big-placed",
            "gold-customers",
            "web-orders",
            "vip-attribute",
        ],
    ),
    (
        "many_headers",
        many_headers,
        &[
            "big-placed",
            "gold-customers",
            "web-orders",
            "vip-attribute",
            "replayed",
        ],
    ),
    (
        "nested_order",
        nested_order,
        &[
            "big-placed",
            "gold-customers",
            "web-orders",
            "sku-a1",
            "vip-attribute",
        ],
    ),
];

/// Checks that `record` matches `expected` through `match_parts`, as through the full view
/// where serde_json can build that (nesting past 128 is the documented exception).
fn check(table: &RouteTable, shape: &str, record: &Record, expected: &[&str]) {
    let (mut parts, mut full) = (Vec::<RouteId>::new(), Vec::new());
    table.match_parts(record.parts(), record.headers(), &mut parts);
    let view = RecordView::from_parts(record.parts(), record.headers());
    table.match_record(&view, &mut full);
    let names: Vec<&str> = parts
        .iter()
        .map(|&id| table.route(id).name.as_str())
        .collect();
    assert_eq!(names, expected, "{shape}, {} bytes", record.bytes());
    if serde_json::from_slice::<serde_json::Value>(&record.value).is_ok() {
        assert_eq!(
            parts, full,
            "{shape}: match_parts and the full view disagree"
        );
    }
}

fn main() {
    let mut builder = RouteTable::builder();
    builder.add_file("bench.yaml", ROUTES);
    let table = builder.build().expect("valid routes");
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (shape, make, expected) in SHAPES {
        let mut group = c.benchmark_group(format!("parse_scale/{shape}"));
        for (size, label) in SIZES {
            let record = make(size);
            check(&table, shape, &record, expected);
            group.throughput(Throughput::Bytes(record.bytes() as u64));
            let mut out = Vec::new();
            group.bench_with_input(BenchmarkId::from_parameter(label), &record, |b, r| {
                b.iter(|| {
                    table.match_parts(r.parts(), r.headers(), &mut out);
                    black_box(out.len())
                })
            });
        }
        group.finish();
    }
    c.final_summary();
}
