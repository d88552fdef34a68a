//! Route table tests: loading the example route files, every kind of route-file error with its
//! exact message, and a property test of the compiled table against naive evaluation.

use proptest::prelude::*;
use serde_json::{Value, json};

use crate::matcher::tests::{FilterSpec, RouteSpec, build as build_specs};
use crate::{
    Invocation, JsonPathFilter, OnFailure, Ordering, Pattern, RecordView, RouteTable, TargetKind,
};

fn env(name: &str) -> Option<String> {
    match name {
        "STAGE" => Some("prod".into()),
        _ => None,
    }
}

fn build(files: &[(&str, &str)]) -> Result<RouteTable, String> {
    let mut builder = RouteTable::builder().env(env);
    for (name, text) in files {
        builder.add_file(name, text);
    }
    builder.build().map_err(|e| e.to_string())
}

fn record(topic: &str, value: Value) -> RecordView {
    RecordView::from_view(
        json!({"topic": topic, "partition": 0, "offset": 0, "headers": {}, "value": value}),
    )
}

fn matched_names(table: &RouteTable, record: &RecordView) -> Vec<String> {
    let mut out = Vec::new();
    table.match_record(record, &mut out);
    out.iter().map(|&id| table.route(id).name.clone()).collect()
}

const EXAMPLES: [(&str, &str); 3] = [
    (
        "routes/orders.yaml",
        include_str!("../../../routes/orders.yaml"),
    ),
    (
        "routes/iot-telemetry.yaml",
        include_str!("../../../routes/iot-telemetry.yaml"),
    ),
    (
        "routes/tenants.json",
        include_str!("../../../routes/tenants.json"),
    ),
];

#[test]
fn example_route_files_load_and_route() {
    let table = build(&EXAMPLES).unwrap();
    assert_eq!(table.routes().len(), 4);
    assert_eq!(table.topics(), ["orders", "telemetry", "tenant-events"]);
    let big = record("orders", json!({"amount": 250, "status": "placed"}));
    assert_eq!(
        matched_names(&table, &big),
        ["order-fraud-check", "order-audit"]
    );
    let small = record("orders", json!({"amount": 20, "status": "placed"}));
    assert_eq!(matched_names(&table, &small), ["order-audit"]);
    let hot = record(
        "telemetry",
        json!({"source_ip": "10.20.3.4", "temperature_c": 91.5}),
    );
    assert_eq!(matched_names(&table, &hot), ["telemetry-alerts"]);
    let elsewhere = record(
        "telemetry",
        json!({"source_ip": "10.21.3.4", "temperature_c": 91.5}),
    );
    assert!(matched_names(&table, &elsewhere).is_empty());
    let vibration = record(
        "telemetry",
        json!({"readings": [{"kind": "temp", "rms": 9}, {"kind": "vibration", "rms": 5.1}]}),
    );
    assert_eq!(matched_names(&table, &vibration), ["telemetry-alerts"]);
    let tenant = RecordView::from_view(json!({
        "topic": "tenant-events", "key": "tenant-ent-42",
        "headers": {"event-type": "user.updated"}, "value": {}
    }));
    assert_eq!(matched_names(&table, &tenant), ["enterprise-tenant-events"]);
    let heartbeat = RecordView::from_view(json!({
        "topic": "tenant-events", "key": "tenant-ent-42",
        "headers": {"event-type": "heartbeat.v2"}, "value": {}
    }));
    assert!(matched_names(&table, &heartbeat).is_empty());
}

#[test]
fn defaults_overrides_and_names() {
    let table = build(&EXAMPLES).unwrap();
    let fraud = &table.targets()[0];
    assert_eq!(fraud.qualified_name, "order-fraud-check/fraud-check");
    assert_eq!(fraud.delivery.ordering, Ordering::Key);
    assert_eq!(fraud.delivery.concurrency.get(), 4);
    assert_eq!(fraud.delivery.batch.max_records.get(), 50);
    assert_eq!(fraud.delivery.batch.max_bytes.get(), 6 * 1024 * 1024);
    assert_eq!(fraud.delivery.retry.max_attempts.get(), 4);
    let TargetKind::Lambda(l) = &fraud.kind else {
        panic!("lambda expected")
    };
    assert_eq!(l.function, "fraud-check");
    let audit = &table.targets()[1];
    assert_eq!(audit.delivery.ordering, Ordering::Partition);
    assert_eq!(audit.delivery.batch.max_bytes.get(), 256 * 1024);
    assert_eq!(audit.delivery.retry.max_attempts.get(), 6);
    assert_eq!(audit.delivery.on_failure, OnFailure::Dlq);
    let alerts = &table.targets()[2];
    let TargetKind::Lambda(l) = &alerts.kind else {
        panic!("lambda expected")
    };
    assert_eq!(l.invocation, Invocation::Async);
    assert_eq!(
        alerts.delivery.retry.max_record_age,
        Some(std::time::Duration::from_secs(600))
    );
    let tenant_sync = &table.targets()[3];
    let TargetKind::Lambda(l) = &tenant_sync.kind else {
        panic!("lambda expected")
    };
    assert_eq!(
        l.function,
        "arn:aws:lambda:us-east-1:123456789012:function:tenant-sync"
    );
    assert_eq!(l.qualifier.as_deref(), Some("live"));
}

#[test]
fn env_references_are_substituted() {
    let text = "routes:\n  - name: r\n    topics: [t]\n    targets:\n      - lambda:\n          function: fn-${STAGE}\n";
    let table = build(&[("r.yaml", text)]).unwrap();
    let TargetKind::Lambda(l) = &table.targets()[0].kind else {
        panic!()
    };
    assert_eq!(l.function, "fn-prod");
}

/// Every problem of every file is reported at once, each with file, line, column, route, field
/// and (where useful) a hint.
#[test]
fn broken_files_report_every_error_with_its_place() {
    let broken = "\
routes:
  - name: bad-one
    topics: []
    filters:
      - jsonpath: \"@.value.x >> 1\"
    targets: []
  - name: bad-two
    topics: [orders]
    targets:
      - lambda:
          function: arn:aws:lambda:us-east-1:12345:function:f
          delivery:
            batch: {max_records: 20000, max_wait: 10ms}
            retry: {initial_backoff: 10s, max_backoff: 1s}
      - eventbridge:
          bus: orders
          source: src
          detail_type: {path: '$.value..'}
  - name: bad-one
    topics: [orders]
    targets:
      - lambda:
          function: f-${MISSING}
";
    let err = build(&[("routes/broken.yaml", broken)]).unwrap_err();
    let expected = "\
routes/broken.yaml:23:21: route `bad-one` field `targets[0].lambda.function`: environment variable `MISSING` is not set; set it or write `${MISSING:-default}`
routes/broken.yaml:3:5: route `bad-one` field `topics`: a route reads at least one topic
  hint: e.g. `topics: [orders]`
routes/broken.yaml:5:9: route `bad-one` field `filters[0].jsonpath`: invalid JSONPath at character 11: in long-hand segment, expected closing ']'
  @.value.x >> 1
            ^
  hint: write an RFC 9535 filter expression, e.g. `@.value.amount > 100 && @.key == 'k1'`
routes/broken.yaml:6:5: route `bad-one` field `targets`: a route needs at least one target
  hint: add a target, e.g. `- lambda: {function: my-fn}`
routes/broken.yaml:11:11: route `bad-two` field `targets[0].lambda.function`: `arn:aws:lambda:us-east-1:12345:function:f` is not a Lambda function ARN
  hint: use a name (`my-fn`), a partial ARN (`123456789012:function:my-fn`) or an ARN (`arn:aws:lambda:us-east-1:123456789012:function:my-fn`), optionally `:alias`
routes/broken.yaml:13:21: route `bad-two` field `targets[0].lambda.delivery.batch.max_records`: max_records 20000 is outside 1–10000 for lambda targets
routes/broken.yaml:14:21: route `bad-two` field `targets[0].lambda.delivery.retry.initial_backoff`: initial_backoff 10s is larger than max_backoff 1s
routes/broken.yaml:18:25: route `bad-two` field `targets[1].eventbridge.detail_type.path`: invalid JSONPath `$.value..`: at position 9, must start with lowercase alpha or '_'
  hint: e.g. `$.value.type`
routes/broken.yaml:19:5: route `bad-one` field `name`: route name `bad-one` is already used (first in routes/broken.yaml:2)
  hint: route names are unique across all route files";
    assert_eq!(err, expected);
}

#[test]
fn unknown_fields_are_errors_with_their_place() {
    let text = "routes:\n  - name: r\n    topics: [t]\n    targets:\n      - eventbridge:\n          bus: b\n          source: s\n          detail_type: T\n          colour: blue\n";
    let err = build(&[("r.yaml", text)]).unwrap_err();
    assert!(
        err.starts_with(
            "r.yaml:9:11: route `r` field `targets[0].eventbridge.colour`: unknown field `colour`"
        ),
        "{err}"
    );
    let text = "routes:\n  - name: r\n    topic: [t]\n    targets: []\n";
    let err = build(&[("r.yaml", text)]).unwrap_err();
    assert!(
        err.starts_with("r.yaml:3:5: route `r` field `topic`: unknown field `topic`"),
        "{err}"
    );
    let err = build(&[("r.yaml", "rotues: []\n")]).unwrap_err();
    assert!(err.contains("unknown field `rotues`"), "{err}");
}

#[test]
fn duplicate_route_names_across_files() {
    let a = "routes:\n  - name: r\n    topics: [t]\n    targets: [{lambda: {function: f}}]\n";
    let err = build(&[("a.yaml", a), ("b.yaml", a)]).unwrap_err();
    assert_eq!(
        err,
        "b.yaml:2:5: route `r` field `name`: route name `r` is already used (first in a.yaml:2)\n  hint: route names are unique across all route files"
    );
}

#[test]
fn delivery_settings_are_checked() {
    let cases = [
        (
            "{lambda: {function: f, delivery: {batch: {max_records: 0}}}}",
            "max_records 0 is outside 1–10000",
        ),
        (
            "{eventbridge: {bus: b, source: s, detail_type: T, delivery: {batch: {max_records: 11}}}}",
            "max_records 11 is outside 1–10",
        ),
        (
            "{lambda: {function: f, invocation: async, delivery: {batch: {max_bytes: 2MB}}}}",
            "max_bytes 2097152 is outside 1–1048576",
        ),
        (
            "{lambda: {function: f, delivery: {batch: {max_bytes: 3GB}}}}",
            "unknown size unit `GB`",
        ),
        (
            "{lambda: {function: f, delivery: {batch: {max_wait: 10m}}}}",
            "max_wait is at most 300s",
        ),
        (
            "{lambda: {function: f, delivery: {batch: {max_wait: soon}}}}",
            "`soon` is not a duration",
        ),
        (
            "{lambda: {function: f, delivery: {retry: {max_attempts: 0}}}}",
            "max_attempts 0 is outside 1–1000",
        ),
        (
            "{lambda: {function: f, delivery: {retry: {multiplier: 0.5}}}}",
            "multiplier 0.5 is outside 1.0–10.0",
        ),
        (
            "{lambda: {function: f, delivery: {retry: {initial_backoff: 1m, max_backoff: 1s}}}}",
            "larger than max_backoff",
        ),
        (
            "{lambda: {function: f, delivery: {concurrency: 8}}}",
            "concurrency 8 with `ordering: partition`",
        ),
        (
            "{lambda: {function: f, delivery: {ordering: key, concurrency: 1000}}}",
            "concurrency 1000 is outside 1–256",
        ),
        (
            "{lambda: {function: f, delivery: {ordering: sideways}}}",
            "unknown variant `sideways`",
        ),
        (
            "{lambda: {function: 'bad name!'}}",
            "is not a valid function name",
        ),
        (
            "{lambda: {function: 'f:live', qualifier: v2}}",
            "the qualifier is given twice",
        ),
        (
            "{lambda: {function: 'f', qualifier: 'v.2'}}",
            "is not a version or alias",
        ),
        (
            "{lambda: {function: 'arn:aws:s3:::bucket'}}",
            "is not a Lambda function ARN",
        ),
        (
            "{lambda: {function: f, endpoint_url: 'localhost:9000'}}",
            "is not an http(s) URL",
        ),
        (
            "{eventbridge: {bus: 'arn:aws:events:us-east-1:1:rule/x', source: s, detail_type: T}}",
            "is not an event bus ARN",
        ),
        (
            "{eventbridge: {bus: 'my bus', source: s, detail_type: T}}",
            "is not a valid event bus name",
        ),
        (
            "{eventbridge: {bus: b, source: s, detail_type: {path: '$.['}}}",
            "invalid JSONPath",
        ),
        (
            "{eventbridge: {bus: b, source: s, detail_type: T, resources: [x]}}",
            "is not an ARN",
        ),
        ("{kafka: {topic: x}}", "unknown variant `kafka`"),
        ("{custom: {name: c, kind: ''}}", "`kind` must not be empty"),
    ];
    for (target, expected) in cases {
        let text =
            format!("routes:\n  - name: r\n    topics: [t]\n    targets:\n      - {target}\n");
        let err = build(&[("r.yaml", &text)]).expect_err(target);
        assert!(
            err.contains(expected),
            "{target}: expected `{expected}` in:\n{err}"
        );
    }
}

#[test]
fn bad_topics_names_and_target_names() {
    let text = "routes:\n  - name: 'no spaces'\n    topics: [t, 'a/b', t]\n    targets: [{lambda: {function: f}}, {lambda: {function: f}}]\n";
    let err = build(&[("r.yaml", text)]).unwrap_err();
    assert!(
        err.contains("`no spaces` is not a valid route name"),
        "{err}"
    );
    assert!(
        err.contains("`a/b` is not a legal Kafka topic name"),
        "{err}"
    );
    assert!(err.contains("topic `t` is listed twice"), "{err}");
    assert!(
        err.contains("target name `f` is used twice in this route"),
        "{err}"
    );
}

#[test]
fn yaml_syntax_errors_name_the_place() {
    let err = build(&[("r.yaml", "routes:\n  - name: [unclosed\n")]).unwrap_err();
    assert!(err.starts_with("r.yaml:3:1: not valid YAML/JSON"), "{err}");
    let err = build(&[("r.yaml", "routes: []\nroutes: []\n")]).unwrap_err();
    assert!(
        err.contains("r.yaml:2:1: field `routes`: duplicate key `routes`"),
        "{err}"
    );
}

#[test]
fn pattern_filters_accept_json_text_and_report_pattern_paths() {
    let ok = "routes:\n  - name: r\n    topics: [t]\n    filters: [{pattern: '{\"value\": {\"a\": [1]}}'}]\n    targets: [{lambda: {function: f}}]\n";
    let table = build(&[("r.yaml", ok)]).unwrap();
    assert_eq!(matched_names(&table, &record("t", json!({"a": 1}))), ["r"]);
    assert!(matched_names(&table, &record("t", json!({"a": 2}))).is_empty());
    let bad = "routes:\n  - name: r\n    topics: [t]\n    filters: [{pattern: {value: {a: 1}}}]\n    targets: [{lambda: {function: f}}]\n";
    let err = build(&[("r.yaml", bad)]).unwrap_err();
    assert!(
        err.contains("field `filters[0].pattern`: at $.value.a"),
        "{err}"
    );
}

#[test]
fn routes_built_in_code() {
    let cfg: crate::config::RouteConfig = serde_json::from_value(json!({
        "name": "in-code", "topics": ["t"],
        "filters": [{"jsonpath": "@.value.n > 1"}],
        "targets": [{"custom": {"name": "sink", "kind": "ledger", "settings": {"path": "/tmp/x"}}}]
    }))
    .unwrap();
    let mut builder = RouteTable::builder();
    builder.add_route(&cfg);
    let table = builder.build().unwrap();
    assert_eq!(
        matched_names(&table, &record("t", json!({"n": 2}))),
        ["in-code"]
    );
    assert!(matched_names(&table, &record("u", json!({"n": 2}))).is_empty());
    let TargetKind::Custom(c) = &table.targets()[0].kind else {
        panic!()
    };
    assert_eq!(c.settings, json!({"path": "/tmp/x"}));
}

// ---- property test: compiled table vs naive per-route evaluation ----

const TOPICS: [&str; 3] = ["a", "b", "c"];

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0i64..5).prop_map(|n| json!([n])),
        (0i64..5, 0i64..5).prop_map(|(a, b)| json!([a, b])),
        prop::sample::select(vec!["x", "y", "xy"]).prop_map(|s| json!([s])),
        prop::sample::select(vec!["x", "y"]).prop_map(|s| json!([{"prefix": s}])),
        (0i64..5).prop_map(|n| json!([{"numeric": [">", n]}])),
        (0i64..5).prop_map(|n| json!([{"anything-but": n}])),
        any::<bool>().prop_map(|b| json!([{"exists": b}])),
    ]
}

fn arb_pattern() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(prop::sample::select(vec!["f", "g", "h"]), arb_leaf(), 1..3)
        .prop_map(|fields| json!({"value": fields}))
}

fn arb_jsonpath() -> impl Strategy<Value = String> {
    prop_oneof![
        (0i64..5).prop_map(|n| format!("@.value.f > {n}")),
        (0i64..5).prop_map(|n| format!("@.value.g == {n} || @.value.h == 'x'")),
        Just("@.value.f && !@.value.g".to_owned()),
    ]
}

fn arb_route() -> impl Strategy<Value = RouteSpec> {
    (
        prop::sample::subsequence(TOPICS.to_vec(), 1..=3),
        prop::collection::vec(
            prop_oneof![
                arb_pattern().prop_map(FilterSpec::Pattern),
                arb_jsonpath().prop_map(FilterSpec::JsonPath),
            ],
            0..3,
        ),
    )
}

fn arb_field_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0i64..6).prop_map(Value::from),
        prop::sample::select(vec!["x", "y", "xy", "z"]).prop_map(Value::from),
        prop::collection::vec((0i64..6).prop_map(Value::from), 0..3).prop_map(Value::Array),
        Just(Value::Null),
    ]
}

fn arb_record() -> impl Strategy<Value = RecordView> {
    (
        prop::sample::select(TOPICS.to_vec()),
        prop::collection::btree_map(
            prop::sample::select(vec!["f", "g", "h"]),
            arb_field_value(),
            0..3,
        ),
    )
        .prop_map(|(topic, fields)| record(topic, json!(fields)))
}

proptest! {
    #[test]
    fn compiled_table_agrees_with_naive_evaluation(
        routes in prop::collection::vec(arb_route(), 1..12),
        records in prop::collection::vec(arb_record(), 1..20),
    ) {
        let table = build_specs(&routes);
        let mut out = Vec::new();
        for rec in &records {
            table.match_record(rec, &mut out);
            let got: Vec<usize> = out.iter().map(|id| id.0 as usize).collect();
            let expected: Vec<usize> = routes
                .iter()
                .enumerate()
                .filter(|(_, (topics, filters))| {
                    topics.contains(&rec.topic())
                        && (filters.is_empty()
                            || filters.iter().any(|f| match f {
                                FilterSpec::Pattern(p) => Pattern::new(p).unwrap().matches(rec.view()),
                                FilterSpec::JsonPath(j) => JsonPathFilter::new(j).unwrap().matches(rec),
                            }))
                })
                .map(|(i, _)| i)
                .collect();
            prop_assert_eq!(got, expected);
        }
    }
}
