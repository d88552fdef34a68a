//! The compiled matcher against the oracle: which anchors patterns give, and property tests
//! that the index-backed `match_record` equals naive per-route evaluation on large generated
//! tables whose patterns share fields, values and first transitions.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Map, Value, json};

use super::anchor::{Anchor, AnchorTest, ValueKey};
use crate::{MatchScratch, Pattern, RecordParts, RecordView, RouteTable};

fn render(anchors: Option<Vec<Anchor>>) -> Option<Vec<String>> {
    anchors.map(|set| {
        set.into_iter()
            .map(|a| {
                let test = match a.test {
                    AnchorTest::Exact(ValueKey::Str(s)) => format!("= {s:?}"),
                    AnchorTest::Exact(ValueKey::Num(bits)) => format!("= {}", f64::from_bits(bits)),
                    AnchorTest::Exact(other) => format!("= {other:?}"),
                    AnchorTest::Prefix(p) => format!("prefix {p:?}"),
                    AnchorTest::Suffix(p) => format!("suffix {p:?}"),
                    AnchorTest::Range(r) => format!("in {:?}..{:?}", r.lower, r.upper),
                    AnchorTest::Folded(f) => format!("folded {f:?}"),
                };
                format!("{} {test}", a.path.join("."))
            })
            .collect()
    })
}

fn anchors_of(pattern: &str) -> Option<Vec<String>> {
    let pattern = Pattern::from_json_str(pattern).unwrap();
    render(pattern.anchors(&|a: &Anchor| match a.test {
        AnchorTest::Exact(_) | AnchorTest::Folded(_) => 1,
        AnchorTest::Prefix(_) | AnchorTest::Suffix(_) => 4,
        AnchorTest::Range(_) => 16,
    }))
}

#[test]
fn patterns_give_their_cheapest_necessary_condition() {
    let cases: [(&str, &str, Option<&[&str]>); 15] = [
        (
            "exact values are preferred",
            r#"{"value": {"n": [{"numeric": [">", 1]}], "s": [{"prefix": "a"}], "kind": ["a", 2]}}"#,
            Some(&["value.kind = \"a\"", "value.kind = 2"]),
        ),
        (
            "then prefixes",
            r#"{"value": {"n": [{"numeric": [">", 1]}], "s": [{"prefix": "ab"}]}}"#,
            Some(&["value.s prefix \"ab\""]),
        ),
        (
            "then ranges",
            r#"{"value": {"n": [{"numeric": [">", 1, "<=", 5]}], "x": [{"exists": true}]}}"#,
            Some(&["value.n in Some((1.0, false))..Some((5.0, true))"]),
        ),
        (
            "suffixes too",
            r#"{"value": {"b": [{"suffix": "y"}, {"suffix": "zz"}], "c": [{"exists": false}]}}"#,
            Some(&["value.b suffix \"y\"", "value.b suffix \"zz\""]),
        ),
        (
            "a leaf mixing anchorable conditions gives one anchor per condition",
            r#"{"k": ["a", {"prefix": "b"}, {"numeric": ["=", 3]}]}"#,
            Some(&[
                "k = \"a\"",
                "k prefix \"b\"",
                "k in Some((3.0, true))..Some((3.0, true))",
            ]),
        ),
        (
            "nested objects give their path",
            r#"{"value": {"items": {"sku": ["x"], "qty": [{"anything-but": 1}]}}}"#,
            Some(&["value.items.sku = \"x\""]),
        ),
        (
            "numbers are keyed by value",
            r#"{"n": [1.0, -0.0, 100, 1e2]}"#,
            Some(&["n = 1", "n = 0", "n = 100", "n = 100"]),
        ),
        (
            "$or contributes the union of its branches",
            r#"{"value": {"x": [{"exists": true}], "$or": [{"a": ["1"]}, {"b": [{"prefix": "p"}]}]}}"#,
            Some(&["value.a = \"1\"", "value.b prefix \"p\""]),
        ),
        (
            "a $or branch without anchor leaves the group without one",
            r#"{"value": {"$or": [{"a": ["1"]}, {"b": [{"exists": true}]}]}}"#,
            None,
        ),
        (
            "other operators give none",
            r#"{"value": {"a": [{"anything-but": "x"}], "c": [{"exists": false}], "e": [{"wildcard": "*a*"}], "f": [{"cidr": "10.0.0.0/7"}], "g": [{"cidr": "2001:db8::/32"}]}}"#,
            None,
        ),
        (
            "equals-ignore-case gives its folded value",
            r#"{"value": {"d": [{"equals-ignore-case": "ÄbC"}, "x"], "n": [{"numeric": [">", 1]}]}}"#,
            Some(&["value.d folded \"äbc\"", "value.d = \"x\""]),
        ),
        (
            "a wildcard gives its literal head as a prefix, else its tail as a suffix",
            r#"{"value": {"e": [{"wildcard": "us*r@*"}, {"wildcard": "*@x.com"}]}}"#,
            Some(&["value.e prefix \"us\"", "value.e suffix \"@x.com\""]),
        ),
        (
            "a wildcard without a star is its value",
            r#"{"value": {"e": [{"wildcard": "a\\*b"}], "n": [{"numeric": [">", 1]}]}}"#,
            Some(&["value.e = \"a*b\""]),
        ),
        (
            "an IPv4 cidr of 8 bits or more gives its leading octets as a prefix",
            r#"{"value": {"ip": [{"cidr": "10.1.0.0/16"}, {"cidr": "192.160.0.0/12"}]}}"#,
            Some(&["value.ip prefix \"10.1.\"", "value.ip prefix \"192.\""]),
        ),
        (
            "a leaf with exists: false besides values gives none",
            r#"{"a": ["x", {"exists": false}]}"#,
            None,
        ),
    ];
    for (rule, pattern, expected) in cases {
        let expected = expected.map(|e| e.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(anchors_of(pattern), expected, "{rule}: {pattern}");
    }
}

#[test]
fn merged_or_alternatives_each_need_an_anchor() {
    // The `$or` shares `a` with its sibling, so the pattern is spelled out into alternatives.
    let pattern = r#"{"a": {"x": [{"exists": true}]}, "$or": [{"a": {"y": [1]}}, {"b": ["y"]}]}"#;
    assert_eq!(
        anchors_of(pattern),
        Some(vec!["a.y = 1".to_owned(), "b = \"y\"".to_owned()])
    );
    let pattern = r#"{"a": {"x": [{"exists": true}]}, "$or": [{"a": {"y": [1]}}, {"a": {"z": [{"exists": true}]}}]}"#;
    assert_eq!(anchors_of(pattern), None);
    // The branch's `c` replaces the outer one in its alternative.
    let pattern = r#"{"c": ["z"], "$or": [{"c": ["q"]}, {"b": ["y"]}]}"#;
    assert_eq!(
        anchors_of(pattern),
        Some(vec!["c = \"q\"".to_owned(), "c = \"z\"".to_owned()])
    );
    let pattern = r#"{"c": {"d": ["z"]}, "$or": [{"c": {"e": ["q"]}}, {"c": {"f": ["r"]}}]}"#;
    assert_eq!(
        anchors_of(pattern),
        Some(vec!["c.d = \"z\"".to_owned(), "c.d = \"z\"".to_owned()])
    );
}

/// Each value of `values` as the only route of its kind, against each as a record value.
fn equality_table(values: &[Value]) -> (RouteTable, Vec<RecordView>) {
    let mut routes = Vec::new();
    for v in values {
        routes.push((
            vec!["a"],
            vec![FilterSpec::Pattern(json!({"value": {"n": [v]}}))],
        ));
        let literal = if v.is_string() {
            format!("'{}'", v.as_str().unwrap())
        } else {
            v.to_string()
        };
        routes.push((
            vec!["a"],
            vec![FilterSpec::JsonPath(format!("@.value.n == {literal}"))],
        ));
        if v.is_number() {
            let range = json!({"value": {"n": [{"numeric": [">=", v, "<=", v]}]}});
            if Pattern::new(&range).is_ok() {
                routes.push((vec!["a"], vec![FilterSpec::Pattern(range)]));
            }
            let jsonpath = format!("@.value.n >= {v} && @.value.n <= {v}");
            routes.push((vec!["a"], vec![FilterSpec::JsonPath(jsonpath)]));
        }
    }
    let records = values
        .iter()
        .flat_map(|v| [json!(v), json!([1, [v]]), json!([{"x": v}])])
        .map(|v| RecordView::from_view(json!({"topic": "a", "headers": {}, "value": {"n": v}})))
        .collect();
    (build(&routes), records)
}

#[test]
fn numbers_are_looked_up_by_value() {
    let values = [
        json!(0),
        json!(-0.0),
        json!(0.0),
        json!(1),
        json!(1.0),
        json!(1e2),
        json!(100),
        json!(-7),
        json!(-7.0),
        json!(u64::MAX),
        json!(18446744073709551615.0),
        json!(i64::MIN),
        json!(0.1),
        json!(2.5e-3),
        json!("1"),
        json!(true),
        json!(null),
    ];
    let (table, records) = equality_table(&values);
    check(&table, &records, &mut MatchScratch::new());
    // JSON text as it arrives: big and float-looking numbers parsed by serde_json.
    let texts = [
        "1.0",
        "1E2",
        "-0",
        "-0.0",
        "18446744073709551616",
        "1e400",
        "123456789012345678901234567890",
        "0.30000000000000004",
    ];
    let parsed: Vec<Value> = texts
        .iter()
        .filter_map(|t| serde_json::from_str(t).ok())
        .collect();
    let (table, records) = equality_table(&parsed);
    check(&table, &records, &mut MatchScratch::new());
}

#[test]
fn prefixes_and_strings_are_looked_up_exactly() {
    let texts = ["", "a", "ab", "é", "\u{e9}t", "Ab", "t", "bc"];
    let routes: Vec<RouteSpec> = texts
        .iter()
        .flat_map(|t| {
            [json!({"prefix": t}), json!({"suffix": t})].map(|op| {
                (
                    vec!["a"],
                    vec![FilterSpec::Pattern(json!({"value": {"s": [op]}}))],
                )
            })
        })
        .collect();
    let records: Vec<RecordView> = ["", "a", "ab", "abc", "é", "ét", "e", "A", "Abc", "\u{e9}"]
        .iter()
        .map(|s| RecordView::from_view(json!({"topic": "a", "headers": {}, "value": {"s": s}})))
        .collect();
    let table = build(&routes);
    check(&table, &records, &mut MatchScratch::new());
    let mut out = Vec::new();
    table.match_record(&records[3], &mut out);
    // "abc" starts with "", "a" and "ab", and ends with "" and "bc".
    assert_eq!(out.len(), 5);
}

/// `equals-ignore-case` routes are found by the record value's fold: as it is (lower-case
/// ASCII), folded on the stack (ASCII), or folded into a new string (longer, or not ASCII);
/// wildcards by their literal head or tail.
#[test]
fn ignore_case_values_and_wildcards_are_looked_up_by_fold_and_literals() {
    let long = "Q".repeat(200);
    let texts = [
        "abc",
        "ABC",
        "ärger",
        "ÄRGER",
        "ΣΑΣ",
        "σασ",
        "İ",
        long.as_str(),
        "x@A.com",
    ];
    let mut routes: Vec<RouteSpec> = texts
        .iter()
        .map(|t| {
            let op = json!({"equals-ignore-case": t});
            (
                vec!["a"],
                vec![FilterSpec::Pattern(json!({"value": {"s": [op]}}))],
            )
        })
        .collect();
    routes.extend(["a*", "*C", "Ä*R", "x@*.com", "*", "ab\\*"].map(|w| {
        let op = json!({"wildcard": w});
        (
            vec!["a"],
            vec![FilterSpec::Pattern(json!({"value": {"s": [op]}}))],
        )
    }));
    let lower = long.to_lowercase();
    let records: Vec<RecordView> = texts
        .iter()
        .copied()
        .chain([
            "aBc",
            "i̇",
            "ab*",
            "ÄxR",
            lower.as_str(),
            "X@a.COM",
            "x@b.com",
        ])
        .map(|s| RecordView::from_view(json!({"topic": "a", "headers": {}, "value": {"s": s}})))
        .collect();
    let table = build(&routes);
    check(&table, &records, &mut MatchScratch::new());
    let mut out = Vec::new();
    table.match_record(&records[0], &mut out);
    // "abc" equals "abc" and "ABC" ignoring case, matches "a*", "*C" is case-sensitive: no.
    assert_eq!(out.len(), 4, "{out:?}");
}

// ---- property tests against naive evaluation ----

const TOPICS: [&str; 3] = ["a", "b", "c"];
const STRINGS: [&str; 15] = [
    "a",
    "ab",
    "abc",
    "b",
    "B",
    "ä",
    "10.1.2.3",
    "10.1.2.30",
    "10.10.2.3",
    "010.1.2.3",
    "AB",
    "aBc",
    "Ä",
    "x@a.com",
    "X@A.COM",
];

fn numbers() -> Vec<Value> {
    vec![
        json!(0),
        json!(1),
        json!(1.0),
        json!(-0.0),
        json!(2.5),
        json!(100),
        json!(1e2),
        json!(-3),
        json!(u64::MAX),
    ]
}

fn arb_number() -> impl Strategy<Value = Value> {
    prop::sample::select(numbers())
}

fn arb_string() -> impl Strategy<Value = Value> {
    prop::sample::select(STRINGS.to_vec()).prop_map(Value::from)
}

fn arb_bound() -> impl Strategy<Value = f64> {
    (-4i32..6).prop_map(|v| f64::from(v) / 2.0)
}

fn arb_numeric() -> impl Strategy<Value = Value> {
    prop_oneof![
        (
            prop::sample::select(vec![">", ">=", "<", "<=", "="]),
            arb_bound()
        )
            .prop_map(|(op, n)| json!({"numeric": [op, n]})),
        (arb_bound(), 1i32..4)
            .prop_map(|(n, w)| json!({"numeric": [">=", n, "<", n + f64::from(w)]})),
        (arb_bound(), 1i32..4)
            .prop_map(|(n, w)| json!({"numeric": [">", n, "<=", n + f64::from(w)]})),
    ]
}

/// One allowed value: mostly anchorable (exact, prefix, numeric), some not.
fn arb_condition() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => arb_string(),
        3 => arb_number(),
        1 => prop::sample::select(vec![json!(true), json!(false), Value::Null]),
        3 => prop::sample::select(vec!["a", "ab", "", "B", "ä"]).prop_map(|p| json!({"prefix": p})),
        3 => arb_numeric(),
        1 => prop_oneof![
            arb_string().prop_map(|s| json!({"anything-but": s})),
            arb_number().prop_filter("operand range", |n| n.as_f64().unwrap().abs() < 5e9)
                .prop_map(|n| json!({"anything-but": n})),
            Just(json!({"anything-but": {"prefix": "a"}})),
        ],
        // Indexed by their folded value, and by a wildcard's literal head or tail.
        2 => prop_oneof![
            arb_string().prop_map(|s| json!({"equals-ignore-case": s})),
            prop::sample::select(vec![
                "a*", "*c", "a*c", "*b*", "ab", "A*", "*", "a*b*c", "x@*", "*@a.com", "*.COM",
                "ä*", "*\\*",
            ])
            .prop_map(|w| json!({"wildcard": w})),
        ],
        1 => prop::sample::select(vec![
            json!({"equals-ignore-case": "b"}),
            json!({"suffix": "b"}),
            json!({"wildcard": "a*c"}),
            json!({"cidr": "10.0.0.0/8"}),
            json!({"cidr": "10.1.0.0/16"}),
            json!({"cidr": "10.1.2.3/32"}),
            json!({"cidr": "10.0.0.0/12"}),
            json!({"cidr": "10.1.2.3/16"}),
            json!({"cidr": "10.10.2.3/12"}),
            json!({"cidr": "10.1.2.30/24"}),
            json!({"cidr": "0.0.0.0/4"}),
            json!({"cidr": "2001:db8::/32"}),
            json!({"prefix": {"equals-ignore-case": "A"}}),
        ]),
    ]
}

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::collection::vec(arb_condition(), 1..3).prop_map(Value::Array),
        1 => any::<bool>().prop_map(|b| json!([{"exists": b}])),
    ]
}

fn fields(
    names: &'static [&'static str],
    size: std::ops::Range<usize>,
) -> BoxedStrategy<Map<String, Value>> {
    prop::collection::btree_map(prop::sample::select(names), arb_leaf(), size)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
        .boxed()
}

fn arb_value_pattern() -> impl Strategy<Value = Value> {
    (
        fields(&["kind", "n", "s", "tags"], 0..3),
        prop::option::of(fields(&["sku", "qty"], 1..3)),
        prop::option::of(fields(&["a", "kind"], 1..2)),
        prop::option::of(prop::collection::vec(
            fields(&["kind", "n", "s", "x"], 1..2),
            2..4,
        )),
        prop::option::of(fields(&["h", "h.x"], 1..2)),
        prop::option::of(fields(&["nested.a", "items.sku", "nested.kind.x"], 1..3)),
    )
        .prop_map(|(mut value, items, nested, or, headers, dotted)| {
            // Dotted names: paths into `nested` and `items`, or members named with the dots.
            value.extend(dotted.into_iter().flatten());
            if let Some(items) = items {
                value.insert("items".into(), Value::Object(items));
            }
            if let Some(nested) = nested {
                value.insert("nested".into(), Value::Object(nested));
            }
            if let Some(branches) = or {
                let branches = branches.into_iter().map(Value::Object).collect();
                value.insert("$or".into(), Value::Array(branches));
            }
            if value.is_empty() {
                value.insert("kind".into(), json!(["a"]));
            }
            let mut root = Map::new();
            root.insert("value".into(), Value::Object(value));
            if let Some(headers) = headers {
                root.insert("headers".into(), Value::Object(headers));
            }
            Value::Object(root)
        })
        .prop_filter("a valid pattern", |p| Pattern::new(p).is_ok())
}

fn arb_jsonpath() -> impl Strategy<Value = String> {
    let s = prop::sample::select(vec!["a", "ab", "b", "10.1.2.3"]);
    let n = prop::sample::select(vec!["0", "1", "1.0", "-0", "2.5", "1e2", "100"]);
    let op = prop::sample::select(vec!["==", "<", "<=", ">", ">="]);
    (s, n, op, 0..14u8).prop_map(|(s, n, op, form)| match form {
        0 => format!("@.value.kind == '{s}'"),
        1 => format!("@.value.n {op} {n} && @.value.kind == '{s}'"),
        2 => format!("$.value.n {op} {n}"),
        3 => format!("{n} {op} @['value']['n'] && length(@.value.tags) > 0"),
        4 => format!("@.value.items[0].sku == '{s}' && @.value.items[0].qty > 0"),
        5 => format!("(@.value.nested.a == {n} && @.value.s) && !@.value.x"),
        6 => format!("@.value.kind == null && @.headers.h == \"{s}\""),
        7 => format!("@.value.kind == '{s}' || @.value.n == {n}"),
        8 => format!("!(@.value.n {op} {n})"),
        9 => format!("@.value.items[?@.sku == '{s}']"),
        10 => format!("@.value.n != {n}"),
        12 => format!("@.value..qty && @.value.kind == '{s}'"),
        13 => format!("@.value.tags[?@ == '{s}'] || $[\"value\"].nested[0].a == {n}"),
        _ => format!("@.value.s == true && @.value.items[?@.qty {op} {n}]"),
    })
}

/// A generated filter (also used by the crate's own property test).
#[derive(Debug, Clone)]
pub(crate) enum FilterSpec {
    Pattern(Value),
    JsonPath(String),
}

pub(crate) type RouteSpec = (Vec<&'static str>, Vec<FilterSpec>);

fn arb_route() -> impl Strategy<Value = RouteSpec> {
    let filter = prop_oneof![
        4 => arb_value_pattern().prop_map(FilterSpec::Pattern),
        1 => arb_jsonpath().prop_map(FilterSpec::JsonPath),
    ];
    // Few routes without filters: they match every record of their topics.
    let filters = (0..7u8, prop::collection::vec(filter, 1..3))
        .prop_map(|(n, filters)| if n == 0 { Vec::new() } else { filters });
    (prop::sample::subsequence(TOPICS.to_vec(), 1..=2), filters)
}

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => arb_string(),
        4 => arb_number(),
        1 => prop::sample::select(vec![json!(true), json!(false), Value::Null]),
    ]
}

/// A field value: a scalar, an array of scalars, or nested arrays.
fn arb_field() -> impl Strategy<Value = Value> {
    prop_oneof![
        6 => arb_scalar(),
        2 => prop::collection::vec(arb_scalar(), 0..3).prop_map(Value::Array),
        1 => arb_scalar().prop_map(|s| json!([[s]])),
    ]
}

fn arb_object(names: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::collection::btree_map(prop::sample::select(names), arb_field(), 0..3)
        .prop_map(|m| json!(m))
}

fn arb_record() -> impl Strategy<Value = RecordView> {
    let nested = prop_oneof![
        arb_object(&["a", "kind"]),
        prop::collection::vec(arb_object(&["a", "kind"]), 0..3).prop_map(Value::Array),
        arb_scalar(),
    ];
    (
        prop::sample::select(TOPICS.to_vec()),
        arb_object(&[
            "kind",
            "n",
            "s",
            "tags",
            "x",
            "nested.a",
            "items.sku",
            "nested.kind.x",
        ]),
        prop::collection::vec(arb_object(&["sku", "qty"]), 0..4),
        prop::option::of(nested),
        prop::option::of(arb_field()),
    )
        .prop_map(|(topic, mut value, items, nested, header)| {
            value["items"] = Value::Array(items);
            if let Some(nested) = nested {
                value["nested"] = nested;
            }
            let headers = header.map_or(json!({}), |h| json!({"h": h}));
            RecordView::from_view(json!({
                "topic": topic, "partition": 0, "offset": 0, "headers": headers, "value": value,
            }))
        })
}

/// A table with one route `r<i>` per spec, each with a Lambda target.
pub(crate) fn build(routes: &[RouteSpec]) -> RouteTable {
    let mut builder = RouteTable::builder();
    for (i, (topics, filters)) in routes.iter().enumerate() {
        let filters: Vec<Value> = filters
            .iter()
            .map(|f| match f {
                FilterSpec::Pattern(p) => json!({"pattern": p}),
                FilterSpec::JsonPath(j) => json!({"jsonpath": j}),
            })
            .collect();
        let cfg = serde_json::from_value(json!({
            "name": format!("r{i}"), "topics": topics, "filters": filters,
            "targets": [{"lambda": {"function": "f"}}],
        }))
        .unwrap();
        builder.add_route(&cfg);
    }
    builder.build().unwrap()
}

fn check(table: &RouteTable, records: &[RecordView], scratch: &mut MatchScratch) {
    let (mut compiled, mut naive, mut shared) = (Vec::new(), Vec::new(), Vec::new());
    for record in records {
        table.match_record(record, &mut compiled);
        table.match_record_naive(record, &mut naive);
        table.match_record_with(record, scratch, &mut shared);
        assert_eq!(compiled, naive, "record {}", record.view());
        assert_eq!(shared, naive, "record {}", record.view());
        // The oracle itself: every route of the topic, evaluated in turn.
        let expected: Vec<_> = table
            .routes_for_topic(record.topic())
            .iter()
            .copied()
            .filter(|&id| table.route(id).matches(record))
            .collect();
        assert_eq!(naive, expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn compiled_matcher_agrees_with_naive_evaluation(
        routes in prop::collection::vec(arb_route(), 1..80),
        records in prop::collection::vec(arb_record(), 1..24),
    ) {
        let table = build(&routes);
        check(&table, &records, &mut MatchScratch::new());
    }
}

/// The Kafka record a generated view stands for: the value as JSON bytes, a key, the `h`
/// header as strings (arrays as repeats), and members no filter reads.
fn kafka_parts(view: &Value) -> (String, String, Vec<(String, String)>) {
    let mut value = view["value"].clone();
    value["unread"] = json!({"notes": "x".repeat(40), "list": [1, {"deep": [true, null]}]});
    let key = match &value["kind"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let headers = match &view["headers"]["h"] {
        Value::Null => Vec::new(),
        Value::String(s) => vec![("h".to_owned(), s.clone())],
        Value::Array(items) => items
            .iter()
            .map(|i| ("h".to_owned(), i.to_string()))
            .collect(),
        other => vec![("h".to_owned(), other.to_string())],
    };
    (value.to_string(), key, headers)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Matching a record's parts (only what the filters read, no view) gives exactly the routes
    /// of the full view.
    #[test]
    fn matching_the_parts_gives_the_routes_of_the_full_view(
        routes in prop::collection::vec(arb_route(), 1..40),
        records in prop::collection::vec(arb_record(), 1..24),
    ) {
        let table = build(&routes);
        let (mut full_ids, mut parts_ids) = (Vec::new(), Vec::new());
        for record in &records {
            let (value, key, headers) = kafka_parts(record.view());
            let parts = RecordParts {
                topic: record.topic(),
                key: Some(key.as_bytes()),
                value: Some(value.as_bytes()),
                ..Default::default()
            };
            let header_parts = || headers.iter().map(|(k, v)| (k.as_str(), Some(v.as_bytes())));
            let full = RecordView::from_parts(parts, header_parts());
            table.match_record(&full, &mut full_ids);
            table.match_parts(parts, header_parts(), &mut parts_ids);
            prop_assert_eq!(&full_ids, &parts_ids, "{}", full.view());
            table.match_record_naive(&full, &mut parts_ids);
            prop_assert_eq!(&full_ids, &parts_ids);
        }
    }
}

/// Thousands of routes sharing every path and most values, one scratch reused across tables.
#[test]
fn large_tables_agree_with_naive_evaluation() {
    let mut runner = TestRunner::deterministic();
    let mut scratch = MatchScratch::new();
    for size in [500, 3000] {
        let routes = prop::collection::vec(arb_route(), size)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let records = prop::collection::vec(arb_record(), 300)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let table = build(&routes);
        check(&table, &records, &mut scratch);
    }
}

/// Skewed tables: one value (`kind: "a"`, or `"a"` ignoring case, or the wildcard `a*`) shared
/// by thousands of routes, each with other
/// generated clauses (nested objects, arrays of objects, `$or`, dotted names, every operator),
/// so that leaves shared by many routes, and routes decided by their leaves alone, meet
/// records where the shared objects are arrays.
#[test]
fn skewed_tables_agree_with_naive_evaluation() {
    let mut runner = TestRunner::deterministic();
    let mut scratch = MatchScratch::new();
    let shared = [
        json!(["a"]),
        json!([{"equals-ignore-case": "A"}]),
        json!([{"wildcard": "a*"}]),
    ];
    for (size, kind) in [(200, 0), (2500, 0), (1000, 1), (1000, 2)] {
        let patterns = prop::collection::vec(arb_value_pattern(), size)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        let routes: Vec<RouteSpec> = patterns
            .into_iter()
            .map(|mut p| {
                p["value"]["kind"] = shared[kind].clone();
                (vec![TOPICS[0]], vec![FilterSpec::Pattern(p)])
            })
            .collect();
        let mut records = prop::collection::vec(arb_record(), 300)
            .new_tree(&mut runner)
            .unwrap()
            .current();
        // Most records carry the shared value.
        for (i, record) in records.iter_mut().enumerate() {
            let mut view = record.view().clone();
            view["topic"] = json!(TOPICS[0]);
            if i % 4 != 0 {
                view["value"]["kind"] = json!(if i % 3 == 0 { "A" } else { "a" });
            }
            *record = RecordView::from_view(view);
        }
        let table = build(&routes);
        check(&table, &records, &mut scratch);
    }
}

/// A pattern whose leaves lie in distinct objects is decided by its leaves, without being
/// evaluated; when an object two leaves share is an array it is evaluated, so that both leaves
/// must hold in one element.
#[test]
fn leaves_decide_a_pattern_unless_a_shared_object_is_an_array() {
    let routes: Vec<RouteSpec> = vec![(
        vec![TOPICS[0]],
        vec![FilterSpec::Pattern(
            json!({"value": {"kind": ["a"], "items": {"sku": ["x"], "qty": [2]}}}),
        )],
    )];
    let table = build(&routes);
    let record = |items: Value| {
        RecordView::from_view(json!({
            "topic": TOPICS[0], "headers": {}, "value": {"kind": "a", "items": items},
        }))
    };
    let cases = [
        (
            "one object: decided by the leaves",
            json!({"sku": "x", "qty": 2}),
            true,
            0,
        ),
        (
            "an array whose one element holds both",
            json!([{"sku": "x", "qty": 2}]),
            true,
            1,
        ),
        (
            "an array where they hold in different elements",
            json!([{"sku": "x", "qty": 1}, {"sku": "y", "qty": 2}]),
            false,
            1,
        ),
    ];
    for (why, items, matches, evaluated) in cases {
        let mut scratch = MatchScratch::new();
        let mut out = Vec::new();
        let view = record(items);
        table.match_record_with(&view, &mut scratch, &mut out);
        assert_eq!(!out.is_empty(), matches, "{why}");
        assert_eq!(scratch.confirmed(), evaluated, "{why}");
        table.match_record_naive(&view, &mut out);
        assert_eq!(!out.is_empty(), matches, "{why}: naive");
    }
}
