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
