//! `fanout route`: a dry run of the route table over a JSON-lines file of records.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use fanout::routes_dir::load_routes_dir;
use fanout_router::{RecordView, RouteTable};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{EXIT_USAGE, read_input};

/// Arguments of `fanout route`.
#[derive(Debug, Args)]
pub struct RouteArgs {
    /// Directory of route files.
    #[arg(long, default_value = "routes")]
    routes: PathBuf,
    /// JSON-lines file of records (default: standard input). Each line has `topic`,
    /// `partition`, `offset`, `timestamp`, `key`, `value`, `headers`; missing fields default
    /// (partition 0, offset = line number - 1, no key/value/timestamp, no headers).
    #[arg(long)]
    input: Option<PathBuf>,
    /// Topic for lines that have none.
    #[arg(long)]
    topic: Option<String>,
}

/// One input line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputRecord {
    topic: Option<String>,
    partition: Option<i32>,
    offset: Option<i64>,
    timestamp: Option<i64>,
    key: Option<Value>,
    value: Option<Value>,
    #[serde(default)]
    headers: Map<String, Value>,
}

/// Runs the command.
pub fn run(args: &RouteArgs) -> anyhow::Result<ExitCode> {
    let table = match load_routes_dir(&args.routes) {
        Ok(t) => t,
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let text = read_input(args.input.as_deref())?;
    let mut matched = Vec::new();
    let mut bad_lines = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let out = match view_of(line, i, args.topic.as_deref()) {
            Ok(record) => describe(&table, &record, i + 1, &mut matched),
            Err(message) => {
                bad_lines += 1;
                json!({"line": i + 1, "error": message})
            }
        };
        println!("{out}");
    }
    if bad_lines > 0 {
        eprintln!("error: {bad_lines} input line(s) could not be read (see `error` lines)");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    Ok(ExitCode::SUCCESS)
}

fn view_of(line: &str, index: usize, default_topic: Option<&str>) -> Result<RecordView, String> {
    let input: InputRecord =
        serde_json::from_str(line).map_err(|e| format!("not a record: {e}"))?;
    let topic = input
        .topic
        .or_else(|| default_topic.map(str::to_owned))
        .ok_or("the record has no `topic` (pass --topic for a default)")?;
    let mut view = Map::new();
    view.insert("topic".into(), topic.into());
    view.insert("partition".into(), input.partition.unwrap_or(0).into());
    view.insert("offset".into(), input.offset.unwrap_or(index as i64).into());
    if let Some(ts) = input.timestamp {
        view.insert("timestamp".into(), ts.into());
    }
    if let Some(key) = input.key {
        view.insert("key".into(), key);
    }
    view.insert("headers".into(), Value::Object(input.headers));
    if let Some(value) = input.value {
        view.insert("value".into(), value);
    }
    Ok(RecordView::from_view(Value::Object(view)))
}

fn describe(
    table: &RouteTable,
    record: &RecordView,
    line: usize,
    matched: &mut Vec<fanout_router::RouteId>,
) -> Value {
    table.match_record(record, matched);
    let routes: Vec<Value> = matched
        .iter()
        .map(|&id| {
            let targets: Vec<&str> = table.route_targets(id).map(|t| t.name.as_str()).collect();
            json!({"route": table.route(id).name, "targets": targets})
        })
        .collect();
    let view = record.view();
    json!({
        "line": line,
        "topic": view["topic"],
        "partition": view["partition"],
        "offset": view["offset"],
        "routes": routes,
    })
}
