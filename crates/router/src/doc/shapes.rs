//! Records of every shape at sizes where a parser that is not linear would show it: wide
//! objects (distinct and repeated names), deep nesting, long strings, many headers. Each is
//! checked against the full view (serde_json) and through [`crate::RouteTable::match_parts`].
//! No timing is asserted: a quadratic parse of these takes minutes, not a second.

use serde_json::json;

use super::*;
use crate::record::RecordView;
use crate::{RouteId, RouteTable};

const MEMBERS: usize = 100_000;

/// The value read whole (and the headers), as the parsed document holds it.
fn parsed_whole(value: &[u8], headers: &[(&str, Option<&[u8]>)]) -> Value {
    let parts = RecordParts {
        topic: "t",
        value: Some(value),
        ..Default::default()
    };
    let reads = Reads::new(Need::All);
    let doc = Doc::record(parts, headers.iter().copied(), &reads);
    doc.root().to_value(&Need::All)
}

/// The full view (serde_json) of the same record.
fn full(value: &[u8], headers: &[(&str, Option<&[u8]>)]) -> Value {
    let parts = RecordParts {
        topic: "t",
        value: Some(value),
        ..Default::default()
    };
    RecordView::from_parts(parts, headers.iter().copied()).into_view()
}

/// A table of routes on topic `t` with these patterns (one route each, named by position).
fn table(patterns: &[&str]) -> RouteTable {
    let mut yaml = String::from("routes:\n");
    for (i, pattern) in patterns.iter().enumerate() {
        yaml.push_str(&format!(
            "  - name: r{i}\n    topics: [t]\n    filters: [{{pattern: {pattern}}}]\n    \
             targets: [{{lambda: {{function: f}}}}]\n"
        ));
    }
    let mut builder = RouteTable::builder();
    builder.add_file("shapes.yaml", &yaml);
    builder.build().expect("valid routes")
}

/// The positions of the routes a record with this value and these headers matches.
fn matched(table: &RouteTable, value: &[u8], headers: &[(&str, Option<&[u8]>)]) -> Vec<u32> {
    let parts = RecordParts {
        topic: "t",
        value: Some(value),
        ..Default::default()
    };
    let mut out: Vec<RouteId> = Vec::new();
    table.match_parts(parts, headers.iter().copied(), &mut out);
    let mut full_out = Vec::new();
    table.match_record(
        &RecordView::from_parts(parts, headers.iter().copied()),
        &mut full_out,
    );
    assert_eq!(out, full_out, "match_parts and the full view disagree");
    out.iter().map(|id| id.0).collect()
}

/// `{"m0":0,"m1":1,…}` with `n` members, the name of member `i` given by `name(i)`.
fn wide(n: usize, name: impl Fn(usize) -> String) -> String {
    let mut text = String::from("{");
    for i in 0..n {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&format!("\"{}\":{i}", name(i)));
    }
    text.push('}');
    text
}

#[test]
fn a_wide_object_with_distinct_names_reads_as_serde_json_reads_it() {
    let text = wide(MEMBERS, |i| format!("m{i}"));
    let doc = parsed_whole(text.as_bytes(), &[]);
    assert_eq!(doc["value"].as_object().map(|o| o.len()), Some(MEMBERS));
    assert_eq!(doc["value"]["m99999"], json!(99_999));
    assert_eq!(doc, full(text.as_bytes(), &[]));
    // Through the route table: a member late in the object is found, read whole and by name.
    let t = table(&[
        r#"{"value": {"m99998": [99998]}}"#,
        r#"{"value": {"m99999": [{"numeric": [">", 5]}]}}"#,
        r#"{"value": {"m0": [1]}}"#,
    ]);
    assert_eq!(matched(&t, text.as_bytes(), &[]), [0, 1]);
}

#[test]
fn a_wide_object_with_repeated_names_keeps_the_last_value_at_the_first_place() {
    // 100,000 members over 1,000 names (each repeated 100 times), some escaped: the last repeat
    // wins, as in serde_json, and each name stays where it first occurred.
    let name = |i: usize| match i % 1_000 {
        7 => "\\u0073even".to_owned(),
        n => format!("n{n}"),
    };
    let text = wide(MEMBERS, name);
    let doc = parsed_whole(text.as_bytes(), &[]);
    let value = doc["value"].as_object().expect("an object");
    assert_eq!(value.len(), 1_000);
    assert_eq!(value["n999"], json!(99_999));
    assert_eq!(value["seven"], json!(99_007));
    assert_eq!(doc, full(text.as_bytes(), &[]));
    // The parsed document's own member order: first occurrences.
    let parts = RecordParts {
        topic: "t",
        value: Some(text.as_bytes()),
        ..Default::default()
    };
    let reads = Reads::new(Need::All);
    let parsed = Doc::record(parts, [], &reads);
    let names: Vec<&str> = parsed
        .root()
        .get("value")
        .expect("value")
        .members()
        .map(|(name, _)| name)
        .take(9)
        .collect();
    assert_eq!(
        names,
        ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "seven", "n8"]
    );
    // Read by name: the last repeat, whatever else the table reads.
    let t = table(&[
        r#"{"value": {"n5": [99005]}}"#,
        r#"{"value": {"n5": [5]}}"#,
        r#"{"value": {"seven": [99007]}}"#,
    ]);
    assert_eq!(matched(&t, text.as_bytes(), &[]), [0, 2]);
}

#[test]
fn many_read_names_repeated_in_a_wide_object() {
    // A table reading 100 names of the value (more than the 64 tracked without a lookup),
    // and a record repeating each of them 1,000 times.
    let patterns: Vec<String> = (0..100)
        .map(|i| format!(r#"{{"value": {{"f{i}": [{}]}}}}"#, 99_900 + i))
        .collect();
    let patterns: Vec<&str> = patterns.iter().map(String::as_str).collect();
    let t = table(&patterns);
    let text = wide(MEMBERS, |i| format!("f{}", i % 100));
    assert_eq!(
        matched(&t, text.as_bytes(), &[]),
        (0..100).collect::<Vec<u32>>()
    );
}

#[test]
fn deep_nesting_is_rejected_where_built_and_skipped_elsewhere() {
    const DEPTH: usize = 1_000_000;
    let arrays = format!("{}{}", "[".repeat(DEPTH), "]".repeat(DEPTH));
    let objects = format!("{}1{}", r#"{"a":"#.repeat(DEPTH), "}".repeat(DEPTH));
    for deep in [&arrays, &objects] {
        // Read whole: not JSON to serde_json (nesting past 128), so a string in both views.
        let doc = parsed_whole(deep.as_bytes(), &[]);
        assert_eq!(doc["value"], json!(deep));
        assert_eq!(doc, full(deep.as_bytes(), &[]));
        // Skipped: checked to be JSON without building it (the documented difference).
        let text = format!(r#"{{"status":"placed","z":{deep}}}"#);
        let t = table(&[r#"{"value": {"status": ["placed"]}}"#]);
        let parts = RecordParts {
            topic: "t",
            value: Some(text.as_bytes()),
            ..Default::default()
        };
        let mut out = Vec::new();
        t.match_parts(parts, [], &mut out);
        assert_eq!(out.len(), 1);
        // Broken at the bottom: not JSON wherever it is.
        let broken = format!(r#"{{"status":"placed","z":{}}}"#, &deep[..deep.len() - 1]);
        let parts = RecordParts {
            value: Some(broken.as_bytes()),
            ..parts
        };
        t.match_parts(parts, [], &mut out);
        assert!(out.is_empty());
    }
    // Read through the nesting: rejected at serde_json's limit, as serde_json does.
    let t = table(&[r#"{"value": {"a": {"a": {"a": [{"exists": true}]}}}}"#]);
    assert!(matched(&t, objects.as_bytes(), &[]).is_empty());
}

#[test]
fn long_strings_read_as_serde_json_reads_them() {
    let plain = "x".repeat(8 << 20);
    let escaped = "a\\n\\u00e9\\\"".repeat(1 << 20);
    for long in [plain, escaped] {
        let text = format!(r#"{{"s":"{long}","status":"placed"}}"#);
        assert_eq!(
            parsed_whole(text.as_bytes(), &[]),
            full(text.as_bytes(), &[])
        );
        let t = table(&[
            r#"{"value": {"status": ["placed"]}}"#,
            r#"{"value": {"s": [{"prefix": "a\n"}]}}"#,
        ]);
        let expected: &[u32] = if text.contains("\\n") { &[0, 1] } else { &[0] };
        assert_eq!(matched(&t, text.as_bytes(), &[]), expected);
    }
}

#[test]
fn many_headers_read_as_the_view_reads_them() {
    // 10,000 distinct header names, then 10,000 repeats of one name.
    let names: Vec<String> = (0..10_000).map(|i| format!("h{i}")).collect();
    let mut headers: Vec<(&str, Option<&[u8]>)> = names
        .iter()
        .map(|n| (n.as_str(), Some(n.as_bytes())))
        .collect();
    headers.extend((0..10_000).map(|_| ("repeated", Some(&b"r"[..]))));
    headers.push(("h9999", None));
    let doc = parsed_whole(b"{}", &headers);
    assert_eq!(doc["headers"]["h5000"], json!("h5000"));
    assert_eq!(doc["headers"]["h9999"], json!(["h9999", null]));
    assert_eq!(
        doc["headers"]["repeated"].as_array().map(Vec::len),
        Some(10_000)
    );
    assert_eq!(doc, full(b"{}", &headers));
    let t = table(&[
        r#"{"headers": {"h9998": ["h9998"]}}"#,
        r#"{"headers": {"repeated": ["r"]}}"#,
        r#"{"headers": {"h9999": [null]}}"#,
    ]);
    assert_eq!(matched(&t, b"{}", &headers), [0, 1, 2]);
}
