//! Nesting, `$or`, fanout's record view, and the public API around matching.

use serde_json::json;

use super::super::{Pattern, PatternProblem};
use super::{MatchCase, check_matches};

pub(super) const CASES_COUNT: usize =
    NESTING.len() + DOTTED_NAMES.len() + OR.len() + OR_ON_AN_OUTER_FIELD.len() + RECORD_VIEW.len();

#[rustfmt::skip]
const NESTING: &[MatchCase] = &[
    ("nested objects mirror the event", r#"{"detail":{"state":["running"]}}"#, r#"{"detail":{"state":"running"}}"#, true),
    ("nested objects mirror the event, other value", r#"{"detail":{"state":["running"]}}"#, r#"{"detail":{"state":"stopped"}}"#, false),
    ("nested pattern does not match a flat dotted key (difference)", r#"{"detail":{"state":["running"]}}"#, r#"{"detail.state":"running"}"#, false),
    ("nested pattern needs the parent object", r#"{"detail":{"state":["running"]}}"#, r#"{"state":"running"}"#, false),
    ("nested pattern against a scalar parent", r#"{"detail":{"state":["running"]}}"#, r#"{"detail":"running"}"#, false),
    ("deep nesting", r#"{"a":{"b":{"c":{"d":[1]}}}}"#, r#"{"a":{"b":{"c":{"d":1,"e":2}}}}"#, true),
    ("deep nesting, leaf differs", r#"{"a":{"b":{"c":{"d":[1]}}}}"#, r#"{"a":{"b":{"c":{"d":2}}}}"#, false),
    ("field names may contain dots and dashes", r#"{"detail-type":["x"],"a.b":[1]}"#, r#"{"detail-type":"x","a.b":1}"#, true),
    ("empty field name is an ordinary name", r#"{"":["x"]}"#, r#"{"":"x"}"#, true),
];

#[rustfmt::skip]
const OR: &[MatchCase] = &[
    ("$or matches when the first branch matches", r#"{"$or":[{"a":[1]},{"b":[2]}]}"#, r#"{"a":1}"#, true),
    ("$or matches when the second branch matches", r#"{"$or":[{"a":[1]},{"b":[2]}]}"#, r#"{"b":2}"#, true),
    ("$or fails when no branch matches", r#"{"$or":[{"a":[1]},{"b":[2]}]}"#, r#"{"a":2,"b":1}"#, false),
    ("$or is ANDed with sibling fields", r#"{"source":["cw"],"$or":[{"m":["cpu"]},{"n":["ec2"]}]}"#, r#"{"source":"cw","n":"ec2"}"#, true),
    ("$or is ANDed with sibling fields, sibling fails", r#"{"source":["cw"],"$or":[{"m":["cpu"]},{"n":["ec2"]}]}"#, r#"{"source":"s3","n":"ec2"}"#, false),
    ("$or branch with several fields is an AND", r#"{"$or":[{"a":[1],"b":[2]},{"c":[3]}]}"#, r#"{"a":1,"b":3}"#, false),
    ("$or branch with several fields, all hold", r#"{"$or":[{"a":[1],"b":[2]},{"c":[3]}]}"#, r#"{"a":1,"b":2}"#, true),
    ("$or nested inside a field", r#"{"detail":{"$or":[{"s":["x"]},{"t":["y"]}]}}"#, r#"{"detail":{"t":"y"}}"#, true),
    ("$or nested inside a field reads that object", r#"{"detail":{"$or":[{"s":["x"]},{"t":["y"]}]}}"#, r#"{"t":"y"}"#, false),
    ("parallel $or at two levels, both hold", r#"{"$or":[{"a":[1]},{"b":[1]}],"d":{"$or":[{"s":[1]},{"t":[1]}]}}"#, r#"{"b":1,"d":{"s":1}}"#, true),
    ("parallel $or at two levels, inner fails", r#"{"$or":[{"a":[1]},{"b":[1]}],"d":{"$or":[{"s":[1]},{"t":[1]}]}}"#, r#"{"b":1,"d":{"u":1}}"#, false),
    ("$or inside $or", r#"{"$or":[{"a":[1]},{"b":[2],"$or":[{"c":[3]},{"d":[4]}]}]}"#, r#"{"b":2,"d":4}"#, true),
    ("$or inside $or, inner fails", r#"{"$or":[{"a":[1]},{"b":[2],"$or":[{"c":[3]},{"d":[4]}]}]}"#, r#"{"b":2,"d":5}"#, false),
    ("$or branches sharing a parent object with a sibling", r#"{"v":{"t":["o"]},"$or":[{"v":{"a":[1]}},{"v":{"b":[2]}}]}"#, r#"{"v":{"t":"o","b":2}}"#, true),
    ("$or branches sharing a parent object, sibling fails", r#"{"v":{"t":["o"]},"$or":[{"v":{"a":[1]}},{"v":{"b":[2]}}]}"#, r#"{"v":{"t":"x","b":2}}"#, false),
    ("$or with exists false in a branch", r#"{"$or":[{"a":[{"exists":false}]},{"a":["x"]}]}"#, r#"{"b":1}"#, true),
    ("$or with three branches", r#"{"$or":[{"a":[1]},{"b":[2]},{"c":[3]}]}"#, r#"{"c":3}"#, true),
];

/// event-ruler flattens events and patterns into dotted paths: a pattern name with dots names
/// the nested path, and a member whose own name has the dots.
#[rustfmt::skip]
const DOTTED_NAMES: &[MatchCase] = &[
    ("dotted names match the nested path", r#"{"properties.foo":[{"wildcard":"*bar*"}]}"#, r#"{"properties":{"foo":"xbarx"}}"#, true),
    ("dotted names match the nested path, other value", r#"{"properties.foo":[{"wildcard":"*bar*"}]}"#, r#"{"properties":{"foo":"baz"}}"#, false),
    ("dotted names match a member named with the dots", r#"{"properties.foo":["x"]}"#, r#"{"properties.foo":"x"}"#, true),
    ("dotted names match a member named with the dots, other value", r#"{"properties.foo":["x"]}"#, r#"{"properties.foo":"y","properties":{"foo":"z"}}"#, false),
    ("dotted names match either spelling", r#"{"a.b.c":[1]}"#, r#"{"a":{"b.c":0},"a.b":{"c":1}}"#, true),
    ("dotted names need the whole path", r#"{"a.b.c":[1]}"#, r#"{"a":{"b":1}}"#, false),
    ("dotted names under a nested object", r#"{"value":{"order.total":[{"numeric":[">",10]}]}}"#, r#"{"value":{"order":{"total":11}}}"#, true),
    ("dotted names look through arrays", r#"{"items.sku":["A"]}"#, r#"{"items":[{"sku":"B"},{"sku":"A"}]}"#, true),
    ("dotted names look through arrays, no element", r#"{"items.sku":["A"]}"#, r#"{"items":[{"sku":"B"}]}"#, false),
    ("dotted object names keep array elements apart", r#"{"a.b":{"c":[1],"d":[2]}}"#, r#"{"a":[{"b":{"c":1}},{"b":{"d":2}}]}"#, false),
    ("dotted object names, one element", r#"{"a.b":{"c":[1],"d":[2]}}"#, r#"{"a":[{"b":{"c":1}},{"b":{"c":1,"d":2}}]}"#, true),
    ("dotted names and exists false: present nested", r#"{"a.b":[{"exists":false}]}"#, r#"{"a":{"b":null}}"#, false),
    ("dotted names and exists false: present as a dotted member", r#"{"x":{"a.b":[{"exists":false}]}}"#, r#"{"x":[{"a.b":1}]}"#, false),
    ("dotted names and exists false: absent", r#"{"a.b":[{"exists":false}]}"#, r#"{"a":{"c":1},"a.c":2}"#, true),
    ("dotted header names", r#"{"headers":{"trace.id":["t-1"]}}"#, r#"{"headers":{"trace.id":"t-1"}}"#, true),
];

/// event-ruler spells `$or` out into alternatives, each with one list of allowed values per
/// field: a branch that constrains a field its siblings constrain replaces their values in
/// that alternative (for a pattern whose `$or` is written after the field).
#[rustfmt::skip]
const OR_ON_AN_OUTER_FIELD: &[MatchCase] = &[
    ("$or on an outer field: the branch's values replace the outer ones", r#"{"name":["a","b"],"$or":[{"name":[{"anything-but":"a"}]},{"c":["x"]}]}"#, r#"{"name":"z"}"#, true),
    ("$or on an outer field: excluded by the branch", r#"{"name":["a","b"],"$or":[{"name":[{"anything-but":"a"}]},{"c":["x"]}]}"#, r#"{"name":"a"}"#, false),
    ("$or on an outer field: the other branch keeps the outer values", r#"{"name":["a","b"],"$or":[{"name":[{"anything-but":"a"}]},{"c":["x"]}]}"#, r#"{"name":"a","c":"x"}"#, true),
    ("$or on an outer field: the other branch still needs the outer values", r#"{"name":["a","b"],"$or":[{"name":[{"anything-but":"a"}]},{"c":["x"]}]}"#, r#"{"name":"z","c":"x"}"#, true),
    ("$or on an outer field: neither alternative", r#"{"name":["a","b"],"$or":[{"name":["q"]},{"c":["x"]}]}"#, r#"{"name":"z","c":"x"}"#, false),
    ("$or on an outer field: nested leaf replaced", r#"{"d":{"x":[1]},"$or":[{"d":{"x":[2]}},{"b":[3]}]}"#, r#"{"d":{"x":2}}"#, true),
    ("$or on an outer field: nested leaf, replaced value no longer matches", r#"{"d":{"x":[1]},"$or":[{"d":{"x":[2]}},{"b":[3]}]}"#, r#"{"d":{"x":1}}"#, false),
    ("$or on an outer field: nested leaf, other branch", r#"{"d":{"x":[1]},"$or":[{"d":{"x":[2]}},{"b":[3]}]}"#, r#"{"d":{"x":1},"b":3}"#, true),
    ("$or on an outer field: deeper $or wins", r#"{"a":[1],"$or":[{"a":[2],"$or":[{"a":[3]},{"z":[0]}]},{"b":[1]}]}"#, r#"{"a":3}"#, true),
    ("$or on an outer field: deeper $or, its other branch", r#"{"a":[1],"$or":[{"a":[2],"$or":[{"a":[3]},{"z":[0]}]},{"b":[1]}]}"#, r#"{"a":2,"z":0}"#, true),
    ("$or on an outer field: deeper $or, outer value replaced", r#"{"a":[1],"$or":[{"a":[2],"$or":[{"a":[3]},{"z":[0]}]},{"b":[1]}]}"#, r#"{"a":1,"z":0}"#, false),
    ("$or on an outer field: exists false replaced", r#"{"a":[{"exists":false}],"$or":[{"a":["x"]},{"b":[1]}]}"#, r#"{"a":"x"}"#, true),
    ("$or on an outer field: exists false kept in the other branch", r#"{"a":[{"exists":false}],"$or":[{"a":["x"]},{"b":[1]}]}"#, r#"{"a":"y","b":1}"#, false),
];

/// fanout's record view: `{"topic","partition","offset","timestamp","key","headers","value"}`.
#[rustfmt::skip]
const RECORD_VIEW: &[MatchCase] = &[
    (
        "record view: numeric on the value",
        r#"{"value":{"amount":[{"numeric":[">",100]}]}}"#,
        r#"{"topic":"orders","partition":3,"offset":42,"timestamp":1700000000000,"key":"k1","headers":{},"value":{"amount":150.5}}"#,
        true,
    ),
    (
        "record view: numeric on the value, below",
        r#"{"value":{"amount":[{"numeric":[">",100]}]}}"#,
        r#"{"topic":"orders","partition":3,"offset":42,"timestamp":1700000000000,"key":"k1","headers":{},"value":{"amount":99}}"#,
        false,
    ),
    (
        "record view: topic and header",
        r#"{"topic":["orders"],"headers":{"source":[{"prefix":"checkout-"}]}}"#,
        r#"{"topic":"orders","partition":0,"offset":1,"timestamp":0,"key":null,"headers":{"source":"checkout-eu"},"value":{}}"#,
        true,
    ),
    (
        "record view: null key",
        r#"{"key":[null],"value":{"kind":["ping"]}}"#,
        r#"{"topic":"t","partition":0,"offset":1,"timestamp":0,"key":null,"headers":{},"value":{"kind":"ping"}}"#,
        true,
    ),
    (
        "record view: string value is not an object",
        r#"{"value":{"amount":[{"exists":true}]}}"#,
        r#"{"topic":"t","partition":0,"offset":1,"timestamp":0,"key":"k","headers":{},"value":"not json"}"#,
        false,
    ),
    (
        "record view: line items in the value",
        r#"{"topic":["orders"],"value":{"items":{"sku":["A"],"qty":[{"numeric":[">=",2]}]}}}"#,
        r#"{"topic":"orders","partition":1,"offset":7,"timestamp":5,"key":"o-1","headers":{},"value":{"items":[{"sku":"A","qty":1},{"sku":"B","qty":2}]}}"#,
        false,
    ),
    (
        "record view: partition anything-but",
        r#"{"partition":[{"anything-but":[0,1]}],"value":{"$or":[{"priority":["high"]},{"amount":[{"numeric":[">",1000]}]}]}}"#,
        r#"{"topic":"t","partition":2,"offset":1,"timestamp":0,"key":"k","headers":{},"value":{"amount":5000}}"#,
        true,
    ),
];

#[test]
fn nesting() {
    check_matches(NESTING);
}

#[test]
fn or() {
    check_matches(OR);
}

#[test]
fn dotted_names() {
    check_matches(DOTTED_NAMES);
}

#[test]
fn dotted_names_are_read_at_every_spelling() {
    let pattern = Pattern::from_json_str(r#"{"value": {"a.b.c": [1]}, "k": [2]}"#).unwrap();
    let mut paths = pattern.field_paths();
    paths.sort();
    let expected: Vec<Vec<String>> = [
        &["k"][..],
        &["value", "a", "b", "c"],
        &["value", "a", "b.c"],
        &["value", "a.b", "c"],
        &["value", "a.b.c"],
    ]
    .iter()
    .map(|p| p.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(paths, expected);
    // Past 256 spellings, the object holding the first dotted name is read whole.
    let long = format!(r#"{{"value": {{"{}": [1]}}}}"#, ["x"; 12].join("."));
    let pattern = Pattern::from_json_str(&long).unwrap();
    assert_eq!(pattern.field_paths(), vec![vec!["value".to_owned()]]);
    assert!(
        pattern.matches(&serde_json::json!({"value": {"x.x.x.x.x.x": {"x.x.x.x.x": {"x": 1}}}}))
    );
}

#[test]
fn or_on_an_outer_field() {
    check_matches(OR_ON_AN_OUTER_FIELD);
}

#[test]
fn record_view() {
    check_matches(RECORD_VIEW);
}

#[test]
fn field_paths_lists_every_leaf_once_including_or() {
    let pattern = Pattern::new(&json!({
        "topic": ["orders"],
        "value": {
            "amount": [{"numeric": [">", 100]}],
            "$or": [
                {"country": ["FR"]},
                {"customer": {"tier": ["gold"]}},
                {"country": ["DE"]}
            ]
        },
        "$or": [{"key": [null]}, {"headers": {"source": ["x"]}}]
    }))
    .unwrap();
    let mut paths = pattern.field_paths();
    paths.sort();
    let expected: Vec<Vec<String>> = vec![
        vec!["headers".into(), "source".into()],
        vec!["key".into()],
        vec!["topic".into()],
        vec!["value".into(), "amount".into()],
        vec!["value".into(), "country".into()],
        vec!["value".into(), "customer".into(), "tier".into()],
    ];
    assert_eq!(paths, expected);
}

#[test]
fn pattern_is_clone_debug_send_sync() {
    fn assert_traits<T: Clone + std::fmt::Debug + Send + Sync + 'static>() {}
    assert_traits::<Pattern>();
    let pattern = Pattern::new(&json!({"a": [1]})).unwrap();
    let copy = pattern.clone();
    assert!(copy.matches(&json!({"a": 1})));
    assert!(format!("{pattern:?}").contains("Pattern"));
}

#[test]
fn empty_object_is_rejected_at_every_level() {
    // aws/event-ruler: "Empty objects are not allowed". A route that should
    // take every record simply has no filter.
    for (pattern, path) in [
        (json!({}), "$"),
        (json!({"detail": {}}), "$.detail"),
        (json!({"$or": [{}, {"a": [1]}]}), "$['$or'][0]"),
    ] {
        let err = Pattern::new(&pattern).unwrap_err();
        assert!(
            err.problems
                .iter()
                .any(|p| p.path == path && p.message.contains("empty object")),
            "{pattern}: {err}"
        );
    }
}

#[test]
fn from_json_str_compiles_valid_text() {
    let pattern = Pattern::from_json_str(r#"{"source": [{"prefix": "aws."}]}"#).unwrap();
    assert!(pattern.matches(&json!({"source": "aws.ec2"})));
    assert!(!pattern.matches(&json!({"source": "custom"})));
}

#[test]
fn from_json_str_reports_syntax_errors_with_line_and_column() {
    let err = Pattern::from_json_str("{\n  \"a\": [1,,]\n}").unwrap_err();
    assert_eq!(err.problems.len(), 1);
    let problem = &err.problems[0];
    assert_eq!(problem.path, "$");
    assert!(
        problem.message.contains("line 2, column 11"),
        "{}",
        problem.message
    );
    assert!(
        problem.message.contains("not valid JSON"),
        "{}",
        problem.message
    );
}

#[test]
fn from_json_str_reports_pattern_problems_too() {
    let err = Pattern::from_json_str(r#"{"a": "x"}"#).unwrap_err();
    assert_eq!(err.problems[0].path, "$.a");
}

#[test]
fn error_display_is_one_problem_per_line() {
    let err = Pattern::new(&json!({"a": [], "b": [{"prefx": "x"}]})).unwrap_err();
    let text = err.to_string();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), err.problems.len(), "{text}");
    assert!(lines.contains(&"at $.a: empty array is not allowed; list at least one allowed value, e.g. [\"a\"] or [{\"exists\": true}]"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("at $.b[0].prefx: unknown operator `prefx`")),
        "{text}"
    );
}

#[test]
fn problem_display_names_the_path() {
    let problem = PatternProblem {
        path: "$.value.amount[0]".into(),
        message: "bad".into(),
    };
    assert_eq!(problem.to_string(), "at $.value.amount[0]: bad");
}

#[test]
fn every_problem_is_reported_not_just_the_first() {
    let err = Pattern::new(&json!({
        "a": [],
        "b": "scalar",
        "c": [{"numeric": [">", "x"]}],
        "d": {"e": [{"cidr": "10.0.0.0/33"}]},
        "$or": [{"f": [1]}]
    }))
    .unwrap_err();
    let mut paths: Vec<&str> = err.problems.iter().map(|p| p.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "$.a",
            "$.b",
            "$.c[0].numeric[1]",
            "$.d.e[0].cidr",
            "$['$or']"
        ]
    );
}

#[test]
fn cidr_with_host_bits_set_is_accepted_with_a_warning_naming_the_network() {
    let pattern = Pattern::from_json_str(
        r#"{"value": {"ip": [{"cidr": "10.0.0.5/24"}, {"cidr": "10.1.0.0/16"}], "v6": [{"cidr": "2001:db8::1/32"}]}}"#,
    )
    .unwrap();
    let warnings: Vec<String> = pattern.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            r#"at $.value.ip[0].cidr: "10.0.0.5/24" has host bits set after the prefix and matches the network "10.0.0.0/24"; write "10.0.0.0/24" to say so"#,
            r#"at $.value.v6[0].cidr: "2001:db8::1/32" has host bits set after the prefix and matches the network "2001:db8::/32"; write "2001:db8::/32" to say so"#,
        ]
    );
    let clean = Pattern::from_json_str(r#"{"ip": [{"cidr": "10.0.0.0/24"}]}"#).unwrap();
    assert!(clean.warnings().is_empty());
}

#[test]
fn matching_is_repeatable_and_does_not_mutate() {
    let pattern = Pattern::new(&json!({"a": {"b": [{"wildcard": "x*"}]}})).unwrap();
    let event = json!({"a": [{"b": "y"}, {"b": "xy"}]});
    for _ in 0..3 {
        assert!(pattern.matches(&event));
    }
}
