//! The `fanout` command's four offline tools, run as a user runs them: exact output and exit
//! codes.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn fanout(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("FRAUD_FUNCTION")
        .env_remove("AUDIT_BUS")
        .env_remove("ALERTS_FUNCTION")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fanout runs");
    let mut input = child.stdin.take().unwrap();
    input
        .write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

#[test]
fn check_accepts_the_example_routes_and_prints_the_table() {
    let out = fanout(&["check"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains(
        "route order-fraud-check  (routes/orders.yaml)\n  topics:  orders\n  filters: pattern {\"value\":{\"amount\":[{\"numeric\":[\">\",100]}],\"status\":[\"placed\"]}}\n"
    ), "{stdout}");
    assert!(stdout.contains(
        "  targets: fraud-check → lambda fraud-check (sync, esm) [key order, 4 in flight; batch ≤50 records/6MiB/50ms; 4 attempts then dlq]\n"
    ), "{stdout}");
    assert!(
        stdout.contains("  filters: (none: every record)\n"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(
            "4 routes, 5 targets loaded from 3 files; topics: orders, telemetry, tenant-events\n"
        ),
        "{stdout}"
    );
}

#[test]
fn check_reports_every_error_of_broken_files_with_exit_2() {
    let out = fanout(&["check", "--routes", "tests/fixtures/broken-routes"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let expected = "\
error: tests/fixtures/broken-routes/iot.yaml:5:9: route `orders-fraud` field `filters[0].jsonpath`: invalid JSONPath at character 14: in long-hand segment, expected closing ']'
  @.value.temp > 
               ^
  hint: write an RFC 9535 filter expression, e.g. `@.value.amount > 100 && @.key == 'k1'`
error: tests/fixtures/broken-routes/iot.yaml:12:21: route `orders-fraud` field `targets[0].eventbridge.delivery.batch.max_records`: max_records 25 is outside 1–10 for eventbridge targets
error: tests/fixtures/broken-routes/orders.yaml:9:11: route `orders-fraud` field `targets[0].lambda.invocation`: unknown variant `later`, expected `sync` or `async`
error: tests/fixtures/broken-routes/orders.yaml:2:5: route `orders-fraud` field `name`: route name `orders-fraud` is already used (first in tests/fixtures/broken-routes/iot.yaml:2)
  hint: route names are unique across all route files
error: tests/fixtures/broken-routes/orders.yaml:5:9: route `orders-fraud` field `filters[0].pattern`: at $.value.amount[0].numeric[1]: expected a number after `>`, found a string
error: tests/fixtures/broken-routes/orders.yaml:12:5: route `orders-audit` field `targets`: a route needs at least one target
  hint: add a target, e.g. `- lambda: {function: my-fn}`
6 error(s) in tests/fixtures/broken-routes
";
    assert_eq!(text(&out.stderr), expected);
}

#[test]
fn check_on_a_missing_or_empty_directory_exits_2() {
    let out = fanout(&["check", "--routes", "tests/fixtures/no-such-dir"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: cannot read tests/fixtures/no-such-dir"));
    let out = fanout(&["check", "--routes", "tests/fixtures/empty-routes"], None);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "error: no route files (*.yaml, *.yml, *.json) in tests/fixtures/empty-routes\n"
    );
}

#[test]
fn test_pattern_prints_true_or_false() {
    let out = fanout(
        &[
            "test-pattern",
            "--pattern",
            r#"{"a":[1]}"#,
            "--event",
            r#"{"a":1.0}"#,
        ],
        None,
    );
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "true\n".into())
    );
    let out = fanout(
        &[
            "test-pattern",
            "--pattern",
            r#"{"a":[2]}"#,
            "--event",
            r#"{"a":1}"#,
        ],
        None,
    );
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "false\n".into())
    );
    let out = fanout(
        &[
            "test-pattern",
            "--pattern",
            "@tests/fixtures/cli/pattern.json",
            "--event",
            "@tests/fixtures/cli/event.json",
        ],
        None,
    );
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "true\n".into())
    );
}

#[test]
fn test_pattern_rejects_bad_patterns_and_events_with_exit_2() {
    let out = fanout(
        &["test-pattern", "--pattern", r#"{"a":1}"#, "--event", "{}"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        "error: invalid pattern:\nat $.a: `a` must be an array of allowed values (e.g. [\"a\", \"b\"]) or an object of nested fields, found a number\n"
    );
    let out = fanout(
        &["test-pattern", "--pattern", r#"{"a":[1]}"#, "--event", "{"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: the event is not valid JSON"));
    let out = fanout(&["test-pattern", "--pattern", r#"{"a":[1]}"#], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn test_pattern_cases_prints_one_line_per_case_in_order() {
    let out = fanout(
        &["test-pattern", "--cases", "tests/fixtures/cli/cases.jsonl"],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "true\nfalse\ntrue\n\
         error: invalid pattern: at $.source: `source` must be an array of allowed values (e.g. [\"a\", \"b\"]) or an object of nested fields, found a string\n\
         error: case is not valid JSON: expected ident at line 1 column 2\n\
         true\n\
         error: case has no `pattern`\n"
    );
}

#[test]
fn query_prints_the_nodelist() {
    let doc = r#"{"store":{"book":[{"title":"A","price":8},{"title":"B","price":22}]}}"#;
    let out = fanout(&["query", "$.store.book[?@.price > 10].title"], Some(doc));
    assert_eq!(
        (out.status.code(), text(&out.stdout)),
        (Some(0), "[\"B\"]\n".into())
    );
    let out = fanout(&["query", "$..price"], Some(doc));
    assert_eq!(text(&out.stdout), "[8,22]\n");
    let out = fanout(&["query", "$.nothing"], Some(doc));
    assert_eq!(text(&out.stdout), "[]\n");
    let out = fanout(
        &[
            "query",
            "$.value.amount",
            "--input",
            "tests/fixtures/cli/event.json",
        ],
        None,
    );
    assert_eq!(text(&out.stdout), "[250]\n");
}

#[test]
fn query_rejects_bad_paths_and_input_with_exit_2() {
    let out = fanout(&["query", "$.["], Some("{}"));
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_eq!(
        text(&out.stderr),
        "error: invalid JSONPath at character 3: in dot member name, must start with lowercase alpha or '_'\n  $.[\n    ^\n"
    );
    let out = fanout(&["query", "$"], Some("{not json"));
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).starts_with("error: the input is not valid JSON"));
}

#[test]
fn route_dry_run_says_where_each_record_goes() {
    let out = fanout(
        &[
            "route",
            "--routes",
            "routes",
            "--input",
            "tests/fixtures/cli/records.jsonl",
        ],
        None,
    );
    assert_eq!(
        text(&out.stdout),
        r#"{"line":1,"offset":10,"partition":1,"routes":[{"route":"order-fraud-check","targets":["fraud-check"]},{"route":"order-audit","targets":["audit-bus"]}],"topic":"orders"}
{"line":2,"offset":1,"partition":0,"routes":[{"route":"order-audit","targets":["audit-bus"]}],"topic":"orders"}
{"line":3,"offset":2,"partition":0,"routes":[{"route":"telemetry-alerts","targets":["alerts"]}],"topic":"telemetry"}
{"error":"the record has no `topic` (pass --topic for a default)","line":4}
{"error":"not a record: unknown field `colour`, expected one of `topic`, `partition`, `offset`, `timestamp`, `key`, `value`, `headers` at line 1 column 28","line":5}
"#
    );
    // Bad lines are reported and the exit code says so; good lines are still routed.
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn route_reads_stdin_and_defaults_the_topic() {
    let out = fanout(
        &["route", "--topic", "tenant-events"],
        Some("{\"key\": \"tenant-ent-1\", \"headers\": {\"event-type\": \"user.created\"}}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "{\"line\":1,\"offset\":0,\"partition\":0,\"routes\":[{\"route\":\"enterprise-tenant-events\",\"targets\":[\"tenant-sync\",\"tenant-bus\"]}],\"topic\":\"tenant-events\"}\n"
    );
}
