//! Test Lambda functions for fanout's Lambda target (see `tests/lambda.rs`).
//!
//! Every bin of this package is one function; they share this code and differ in [`Behavior`].
//! Parameters come from environment variables set when the test starts the process:
//!
//! - `RECORDER_FILE`: every invocation appends one JSON line per record received (all
//!   behaviors), with the call number, the outcome, and the record decoded by
//!   `aws_lambda_events`' `KafkaEvent` (an ESM event that does not decode is an error);
//! - `FLAKY_FAILURES` (flaky, default 2): calls that fail before the function succeeds;
//! - `FAIL_TYPE` / `FAIL_MESSAGE` (failing, flaky): the `errorType` / `errorMessage` returned;
//! - `PARTIAL_FAILURES` (partial, default 1): how many calls name a record whose value has
//!   `"fail": true` in `batchItemFailures` (the first such record of each partition);
//! - `SLOW_MS` (slow, default 2000): how long each call sleeps before succeeding;
//! - `FAIL_TYPE` (poison, default `PoisonRecordError`): the `errorType` of an invocation that
//!   carries a record whose value has `"poison": true`; its `errorMessage` names that record,
//!   `poison record <topic>-<partition>@<offset>` (the first such record of the invocation).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use aws_lambda_events::event::kafka::{KafkaEvent, KafkaRecord};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// What a function does with each invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// Records and succeeds.
    Recorder,
    /// Fails the first `FLAKY_FAILURES` calls, then succeeds.
    Flaky,
    /// Always fails with `FAIL_TYPE` / `FAIL_MESSAGE`.
    Failing,
    /// Returns `batchItemFailures` for records whose value has `"fail": true`.
    Partial,
    /// Sleeps `SLOW_MS`, then succeeds.
    Slow,
    /// Fails every invocation that carries a record whose value has `"poison": true` (ESM
    /// events and `format: record` views alike), naming that record; succeeds otherwise.
    Poison,
}

static CALLS: AtomicU64 = AtomicU64::new(0);
static PARTIAL_SEEN: Mutex<Option<HashMap<(String, i64), u64>>> = Mutex::new(None);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_string(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Runs the function until the runtime API goes away.
pub async fn run(behavior: Behavior) -> Result<(), Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        handle(behavior, event.payload)
    }))
    .await
}

fn decode(b64: &Option<String>) -> Result<Value, Diagnostic> {
    match b64 {
        None => Ok(Value::Null),
        Some(s) => {
            let bytes = STANDARD.decode(s).map_err(|e| diagnostic("BadBase64", e))?;
            Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        }
    }
}

fn diagnostic(error_type: &str, message: impl ToString) -> Diagnostic {
    Diagnostic {
        error_type: error_type.to_owned(),
        error_message: message.to_string(),
    }
}

fn record_line(
    partition_key: &str,
    r: &KafkaRecord,
    raw: &Value,
    event: &KafkaEvent,
) -> Result<Value, Diagnostic> {
    let mut headers = serde_json::Map::new();
    for h in &r.headers {
        for (k, v) in h {
            let bytes: Vec<u8> = v.iter().map(|b| *b as u8).collect();
            headers.insert(k.clone(), json!(String::from_utf8_lossy(&bytes)));
        }
    }
    Ok(json!({
        "eventSource": event.event_source,
        "eventSourceArn": event.event_source_arn,
        "bootstrapServers": event.bootstrap_servers,
        "partitionKey": partition_key,
        "topic": r.topic,
        "partition": r.partition,
        "offset": r.offset,
        "timestamp": r.timestamp.timestamp_millis(),
        // As sent: `aws_lambda_events` reads it through an f64 and may be 1 ms off.
        "rawTimestamp": raw["timestamp"],
        "timestampType": r.timestamp_type,
        "key": decode(&r.key)?,
        "value": decode(&r.value)?,
        "headers": headers,
    }))
}

/// The records of an invocation as recorder lines (ESM events decoded with `KafkaEvent`; any
/// other payload is one line with the payload as `view`), and the decoded records.
fn lines(payload: &Value) -> Result<(Vec<Value>, Vec<Value>), Diagnostic> {
    if payload.get("eventSource").is_none() {
        return Ok((
            vec![json!({"format": "record", "view": payload})],
            Vec::new(),
        ));
    }
    let event: KafkaEvent = serde_json::from_value(payload.clone())
        .map_err(|e| diagnostic("KafkaEventDecodeError", e))?;
    let mut keys: Vec<&String> = event.records.keys().collect();
    keys.sort();
    let mut lines = Vec::new();
    for key in keys {
        for (i, r) in event.records[key].iter().enumerate() {
            let raw = &payload["records"][key.as_str()][i];
            lines.push(record_line(key, r, raw, &event)?);
        }
    }
    Ok((lines.clone(), lines))
}

fn append(call: u64, outcome: &str, lines: &[Value]) {
    let Ok(path) = std::env::var("RECORDER_FILE") else {
        return;
    };
    let function = env_string("AWS_LAMBDA_FUNCTION_NAME", "?");
    let mut text = String::new();
    for l in lines {
        let mut l = l.clone();
        l["function"] = json!(function);
        l["call"] = json!(call);
        l["outcome"] = json!(outcome);
        text.push_str(&l.to_string());
        text.push('\n');
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open RECORDER_FILE");
    file.write_all(text.as_bytes())
        .expect("write RECORDER_FILE");
}

async fn handle(behavior: Behavior, payload: Value) -> Result<Value, Diagnostic> {
    let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    let (lines, records) = match lines(&payload) {
        Ok(l) => l,
        Err(e) => {
            append(call, "decode_error", &[json!({"payload": payload})]);
            return Err(e);
        }
    };
    let fail = || {
        diagnostic(
            &env_string("FAIL_TYPE", "TestFunctionError"),
            format!(
                "{} (call {call})",
                env_string("FAIL_MESSAGE", "the function failed")
            ),
        )
    };
    match behavior {
        Behavior::Recorder => {}
        Behavior::Flaky if call <= env_u64("FLAKY_FAILURES", 2) => {
            append(call, "error", &lines);
            return Err(fail());
        }
        Behavior::Flaky => {}
        Behavior::Failing => {
            append(call, "error", &lines);
            return Err(fail());
        }
        Behavior::Slow => tokio::time::sleep(Duration::from_millis(env_u64("SLOW_MS", 2000))).await,
        Behavior::Poison => {
            if let Some(poison) = poison_record(&lines) {
                append(call, "error", &lines);
                return Err(diagnostic(
                    &env_string("FAIL_TYPE", "PoisonRecordError"),
                    format!("poison record {poison}"),
                ));
            }
        }
        Behavior::Partial => {
            let failures = partial_failures(&records);
            if !failures.is_empty() {
                append(call, "partial", &lines);
                return Ok(json!({ "batchItemFailures": failures }));
            }
        }
    }
    append(call, "ok", &lines);
    Ok(json!({}))
}

/// `<topic>-<partition>@<offset>` of the first record line whose value has `"poison": true`:
/// an ESM record (value as text) or a `format: record` view (value as JSON).
fn poison_record(lines: &[Value]) -> Option<String> {
    lines.iter().find_map(|l| {
        let (record, value) = match l.get("view") {
            Some(view) => (view, view["value"].clone()),
            None => (l, parse_text(&l["value"])),
        };
        (value["poison"] == json!(true)).then(|| {
            format!(
                "{}-{}@{}",
                record["topic"].as_str().unwrap_or_default(),
                record["partition"],
                record["offset"]
            )
        })
    })
}

/// The first record per partition whose value has `"fail": true` and has not yet failed
/// `PARTIAL_FAILURES` times.
fn partial_failures(records: &[Value]) -> Vec<Value> {
    let limit = env_u64("PARTIAL_FAILURES", 1);
    let mut seen = PARTIAL_SEEN.lock().expect("lock");
    let seen = seen.get_or_insert_with(HashMap::new);
    let mut named: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for r in records {
        let key = r["partitionKey"].as_str().unwrap_or_default();
        if named.contains(&key) {
            continue;
        }
        let wants_fail = r["value"]
            .as_str()
            .and_then(|v| serde_json::from_str::<Value>(v).ok())
            .is_some_and(|v| v["fail"] == json!(true));
        if !wants_fail {
            continue;
        }
        let offset = r["offset"].as_i64().unwrap_or_default();
        let count = seen.entry((key.to_owned(), offset)).or_insert(0);
        if *count >= limit {
            continue;
        }
        *count += 1;
        named.push(key);
        out.push(json!({"itemIdentifier": {"partition": key, "offset": offset}}));
    }
    out
}

// ---- Helpers for the demo functions (`fraud-check`, `telemetry-alerts`, `tenant-sync`, used
// by scripts/demo.sh): same decoding as the test functions, with a handler of their own.

/// One record a demo function received.
#[derive(Debug, Clone)]
pub struct DemoRecord {
    /// `<topic>-<partition>` for ESM events, empty for `format: record`.
    pub partition_key: String,
    /// Source topic.
    pub topic: String,
    /// Source partition.
    pub partition: i64,
    /// Source offset.
    pub offset: i64,
    /// The key as text, if any.
    pub key: Option<String>,
    /// The value: parsed JSON when it is JSON, else a JSON string of its text.
    pub value: Value,
    /// Header name → value (as text).
    pub headers: serde_json::Map<String, Value>,
}

fn parse_text(v: &Value) -> Value {
    match v.as_str() {
        Some(s) => serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.to_owned())),
        None => v.clone(),
    }
}

/// The records of an invocation: an ESM Kafka event (decoded with `aws_lambda_events`'
/// `KafkaEvent`, base64 key/value decoded) or, for `format: record` targets, the one record
/// view the payload is.
pub fn demo_records(payload: &Value) -> Result<Vec<DemoRecord>, Diagnostic> {
    let (lines, records) = lines(payload)?;
    if records.is_empty() {
        // `format: record`: the payload is fanout's record view.
        let view = &lines[0]["view"];
        let key = match &view["key"] {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        };
        return Ok(vec![DemoRecord {
            partition_key: String::new(),
            topic: view["topic"].as_str().unwrap_or_default().to_owned(),
            partition: view["partition"].as_i64().unwrap_or_default(),
            offset: view["offset"].as_i64().unwrap_or_default(),
            key,
            value: view["value"].clone(),
            headers: view["headers"].as_object().cloned().unwrap_or_default(),
        }]);
    }
    Ok(records
        .iter()
        .map(|r| DemoRecord {
            partition_key: r["partitionKey"].as_str().unwrap_or_default().to_owned(),
            topic: r["topic"].as_str().unwrap_or_default().to_owned(),
            partition: r["partition"].as_i64().unwrap_or_default(),
            offset: r["offset"].as_i64().unwrap_or_default(),
            key: r["key"].as_str().map(str::to_owned),
            value: parse_text(&r["value"]),
            headers: r["headers"].as_object().cloned().unwrap_or_default(),
        })
        .collect())
}

/// Is this payload an ESM Kafka event (rather than a `format: record` record view)?
pub fn is_esm_event(payload: &Value) -> bool {
    payload.get("eventSource").is_some()
}

/// A function error (`errorType`, `errorMessage`).
pub fn function_error(error_type: &str, message: impl ToString) -> Diagnostic {
    diagnostic(error_type, message)
}

/// Runs a demo function with its own handler until the runtime API goes away. `call` is the
/// 1-based number of the invocation in this process.
pub async fn run_demo<F>(handler: F) -> Result<(), Error>
where
    F: Fn(u64, Value) -> Result<Value, Diagnostic> + Copy + Send + 'static,
{
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let call = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
        handler(call, event.payload)
    }))
    .await
}
