//! Route delivery settings: `retry.bisect`, and every setting that cannot work rejected at load
//! with its place and a message (table tests of the exact texts).

use crate::RouteTable;

fn build(text: &str) -> Result<RouteTable, String> {
    let mut builder = RouteTable::builder();
    builder.add_file("r.yaml", text);
    builder.build().map_err(|e| e.to_string())
}

/// A one-route file with `route` delivery settings and these targets.
fn file(route: &str, targets: &[&str]) -> String {
    let mut text =
        format!("routes:\n  - name: r\n    topics: [t]\n    delivery: {route}\n    targets:\n");
    for target in targets {
        text.push_str(&format!("      - {target}\n"));
    }
    text
}

#[test]
fn bisect_defaults_to_true_and_a_target_overrides_the_route() {
    let text = file(
        "{}",
        &[
            "{lambda: {name: a, function: f}}",
            "{lambda: {name: b, function: f, delivery: {retry: {bisect: false}}}}",
        ],
    );
    let table = build(&text).unwrap();
    let bisect: Vec<bool> = table
        .targets()
        .iter()
        .map(|t| t.delivery.retry.bisect)
        .collect();
    assert_eq!(bisect, [true, false]);
    let text = file(
        "{retry: {bisect: false}}",
        &[
            "{lambda: {name: a, function: f}}",
            "{lambda: {name: b, function: f, delivery: {retry: {bisect: true}}}}",
        ],
    );
    let table = build(&text).unwrap();
    let bisect: Vec<bool> = table
        .targets()
        .iter()
        .map(|t| t.delivery.retry.bisect)
        .collect();
    assert_eq!(bisect, [false, true]);
    let err = build(&file(
        "{retry: {bisect: maybe}}",
        &["{lambda: {function: f}}"],
    ))
    .unwrap_err();
    assert!(
        err.contains("r.yaml:4:") && err.contains("delivery.retry.bisect"),
        "{err}"
    );
}

/// Settings that cannot work at run time, each with the exact error: where it is written (the
/// target's `delivery` or the route's, once for all its targets) and what is wrong.
#[test]
fn settings_that_cannot_work_are_rejected_where_they_are_written() {
    let two = [
        "{lambda: {name: a, function: f}}",
        "{eventbridge: {name: b, bus: b, source: s, detail_type: T}}",
    ];
    let one = ["{lambda: {function: f, delivery: {ordering: key, concurrency: 0}}}"];
    let cases: [(&str, &[&str], &str); 12] = [
        (
            "{retry: {initial_backoff: 0s}}",
            &two,
            "r.yaml:4:24: route `r` field `delivery.retry.initial_backoff`: initial_backoff 0ns is below 1ms: a failing target would be retried in a busy loop\n  hint: e.g. `100ms`",
        ),
        (
            "{retry: {initial_backoff: 500us, max_backoff: 1s}}",
            &two,
            "r.yaml:4:24: route `r` field `delivery.retry.initial_backoff`: initial_backoff 500µs is below 1ms: a failing target would be retried in a busy loop\n  hint: e.g. `100ms`",
        ),
        (
            "{retry: {max_backoff: 0ms}}",
            &two,
            "r.yaml:4:24: route `r` field `delivery.retry.max_backoff`: max_backoff 0ns is below 1ms: a failing target would be retried in a busy loop\n  hint: e.g. `100ms`\n\
             r.yaml:4:24: route `r` field `delivery.retry.max_backoff`: initial_backoff 100ms is larger than max_backoff 0ns",
        ),
        (
            "{retry: {multiplier: .nan}}",
            &two,
            "r.yaml:4:36: route `r` field `delivery.retry.multiplier`: numbers must be finite",
        ),
        (
            "{retry: {multiplier: .inf}}",
            &two,
            "r.yaml:4:36: route `r` field `delivery.retry.multiplier`: numbers must be finite",
        ),
        (
            "{retry: {max_attempts: 0}}",
            &two,
            "r.yaml:4:24: route `r` field `delivery.retry.max_attempts`: max_attempts 0 is outside 1–1000 (use `on_failure: block` for no limit)",
        ),
        (
            "{retry: {max_record_age: 0s}}",
            &two,
            "r.yaml:4:24: route `r` field `delivery.retry.max_record_age`: max_record_age must be more than 0",
        ),
        (
            "{batch: {max_bytes: 0}}",
            &two,
            "r.yaml:4:24: route `r` field `delivery.batch.max_bytes`: max_bytes 0 is outside 1–6291456 for this lambda target\n\
             r.yaml:4:24: route `r` field `delivery.batch.max_bytes`: max_bytes 0 is outside 1–1048576 for this eventbridge target",
        ),
        (
            "{batch: {max_records: 0}}",
            &two,
            "r.yaml:4:24: route `r` field `delivery.batch.max_records`: max_records 0 is outside 1–10000 for lambda targets\n\
             r.yaml:4:24: route `r` field `delivery.batch.max_records`: max_records 0 is outside 1–10 for eventbridge targets",
        ),
        (
            "{}",
            &one,
            "r.yaml:6:58: route `r` field `targets[0].lambda.delivery.concurrency`: concurrency 0 is outside 1–256",
        ),
        (
            "{retry: {initial_backoff: 1s}}",
            &["{lambda: {function: f, delivery: {retry: {max_backoff: 0s}}}}"],
            "r.yaml:6:51: route `r` field `targets[0].lambda.delivery.retry.max_backoff`: max_backoff 0ns is below 1ms: a failing target would be retried in a busy loop\n  hint: e.g. `100ms`\n\
             r.yaml:4:24: route `r` field `delivery.retry.initial_backoff`: initial_backoff 1s is larger than max_backoff 0ns",
        ),
        (
            "{batch: {max_wait: 0s}, retry: {initial_backoff: 1ms, max_backoff: 1ms, multiplier: 1.0}}",
            &two,
            "",
        ),
    ];
    for (route, targets, expected) in cases {
        let text = file(route, targets);
        let got = match build(&text) {
            Ok(_) => String::new(),
            Err(err) => err,
        };
        assert_eq!(got, expected, "{route} {targets:?}");
    }
}
