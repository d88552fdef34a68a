//! Loading route files at scale: a few MB of generated routes in YAML, JSON and one-line JSON
//! load into the table they describe, and errors deep inside them keep their exact place.

use serde_json::json;

use crate::config::{GeneratedFormat, generated_route, generated_route_file};
use crate::{RecordView, RouteTable, TargetKind};

const PER_FILE: usize = 600;

/// Three files, one of each format, 600 routes each (about 3.5 MB in all).
fn files() -> Vec<(String, String)> {
    [
        GeneratedFormat::Yaml,
        GeneratedFormat::Json,
        GeneratedFormat::CompactJson,
    ]
    .into_iter()
    .enumerate()
    .map(|(i, format)| {
        (
            format!("routes/gen-{i}.{}", format.extension()),
            generated_route_file(format, i * PER_FILE, PER_FILE),
        )
    })
    .collect()
}

fn load(files: &[(String, String)]) -> Result<RouteTable, String> {
    let mut builder = RouteTable::builder().env(|_| None);
    for (name, text) in files {
        builder.add_file(name, text);
    }
    builder.build().map_err(|e| e.to_string())
}

#[test]
fn megabytes_of_generated_routes_load_into_the_table_they_describe() {
    let files = files();
    let bytes: usize = files.iter().map(|(_, text)| text.len()).sum();
    assert!(bytes > 3_000_000, "{bytes} bytes");
    let table = load(&files).unwrap();
    let n = 3 * PER_FILE;
    assert_eq!(table.routes().len(), n);
    assert_eq!(table.targets().len(), 2 * n);
    assert_eq!(table.topics().len(), 40);
    for (i, route) in table.routes().iter().enumerate() {
        let written = generated_route(i);
        assert_eq!(route.name, written["name"], "route {i}");
        assert_eq!(route.origin, files[i / PER_FILE].0);
        assert_eq!(
            route.filters.len(),
            written["filters"].as_array().unwrap().len()
        );
        assert_eq!(
            route.topics.len(),
            written["topics"].as_array().unwrap().len()
        );
        let targets: Vec<_> = table.route_targets(route.id).collect();
        assert!(matches!(targets[0].kind, TargetKind::Lambda(_)));
        assert!(matches!(targets[1].kind, TargetKind::EventBridge(_)));
        assert_eq!(
            targets[1].qualified_name,
            format!("{}/audit-{i}", route.name)
        );
    }

    // A record built to pass the second pattern of some routes reaches them, and the compiled
    // table agrees with evaluating every route in turn.
    let (mut fast, mut naive) = (Vec::new(), Vec::new());
    for i in [0, 1, 599, 600, 1234, n - 1] {
        let written = generated_route(i);
        let cidr = written["filters"][1]["pattern"]["value"]["source_ip"][0]["cidr"]
            .as_str()
            .unwrap();
        let ip = cidr.replace(".0.0/16", ".7.9");
        let record = RecordView::from_view(json!({
            "topic": written["topics"][0], "partition": 0, "offset": 0, "headers": {},
            "value": {"source_ip": ip, "channel": "web"},
        }));
        table.match_record(&record, &mut fast);
        table.match_record_naive(&record, &mut naive);
        assert_eq!(fast, naive);
        assert!(
            fast.iter()
                .any(|&id| table.route(id).name == written["name"]),
            "route {i} should match {record:?}"
        );
    }
}

#[test]
fn errors_deep_in_large_files_keep_their_line_and_column() {
    let mut files = files();
    // Break a route in the middle of the one-line JSON file, and route 100 of the YAML file.
    let compact = &mut files[2].1;
    let at = compact.len() / 2;
    let at = at + compact[at..].find("function:orders-score-").unwrap();
    compact.replace_range(at..at + "function:".len(), "function:bad name ");
    // The error points at the key: `"function":"arn:…`.
    let column = compact[..at].rfind('"').unwrap() - r#""function":"#.len() + 1;
    let route = 2 * PER_FILE + compact[..at].matches(r#""name":"route-"#).count() - 1;
    let yaml = &mut files[0].1;
    let line = yaml
        .lines()
        .position(|l| l.contains("route-000100"))
        .unwrap()
        + 1;
    *yaml = yaml.replacen(
        "  - name: route-000100",
        "  - name: route-000100\n    colour: blue",
        1,
    );

    let err = load(&files).unwrap_err();
    let lines: Vec<&str> = err.lines().filter(|l| !l.starts_with("  ")).collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert_eq!(
        lines[0],
        format!(
            "routes/gen-0.yaml:{}:5: route `route-000100` field `colour`: unknown field `colour`, expected one of `name`, `description`, `topics`, `filters`, `delivery`, `targets`",
            line + 1
        )
    );
    assert!(
        lines[1].starts_with(&format!(
            "routes/gen-2.json:1:{column}: route `route-{route:06}` field `targets[0].lambda.function`: "
        )),
        "{}",
        lines[1]
    );
}

/// A file is read route by route; what only its end decides (a syntax error, a top level that
/// is not just `routes:`) takes back the routes it added, as if none had been read.
#[test]
fn a_file_that_fails_as_a_whole_adds_no_route_and_claims_no_name() {
    let route = "  - name: r\n    topics: [t]\n    targets: [{lambda: {function: f}}]\n";
    let ok = ("ok.yaml".to_owned(), format!("routes:\n{route}"));
    let extra_key = ("a.yaml".to_owned(), format!("routes:\n{route}extra: 1\n"));
    let err = load(&[extra_key, ok.clone()]).unwrap_err();
    assert_eq!(
        err,
        "a.yaml:1:1: unknown field `extra`, expected `routes`\n  hint: a route file is a mapping with one key, `routes:`, holding a list of routes"
    );
    let unclosed = (
        "b.yaml".to_owned(),
        format!("routes:\n{route}  - name: [unclosed\n"),
    );
    let err = load(&[unclosed, ok.clone()]).unwrap_err();
    assert!(err.starts_with("b.yaml:6:1: not valid YAML/JSON"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // A second `routes:` key replaces the first list, as in the document's value.
    let twice = (
        "c.yaml".to_owned(),
        format!(
            "routes:\n{route}routes:\n{}",
            route.replace("name: r", "name: s")
        ),
    );
    let err = load(&[twice, ok]).unwrap_err();
    assert_eq!(err, "c.yaml:5:1: field `routes`: duplicate key `routes`");
}
