//! Invocation payloads: the Lambda Kafka event-source-mapping (ESM) event, or one record view
//! per invocation, split into invocations that fit the payload limit.
//!
//! The ESM event is written exactly as Lambda's Kafka event source mapping writes it:
//!
//! ```json
//! {"eventSource":"SelfManagedKafka","bootstrapServers":"b1:9092,b2:9092",
//!  "records":{"orders-0":[{"topic":"orders","partition":0,"offset":15,
//!    "timestamp":1545084650987,"timestampType":"CREATE_TIME",
//!    "key":"a2V5","value":"eyJhIjoxfQ==","headers":[{"trace":[116,49]}]}]}}
//! ```
//!
//! - `eventSource` is `aws:kafka` followed by `eventSourceArn` when an MSK cluster ARN is
//!   configured, else `SelfManagedKafka`; `bootstrapServers` is omitted when unknown.
//! - `records` is keyed `"<topic>-<partition>"`, keys in order of first appearance.
//! - `key` and `value` are base64; each is omitted when the record has none (as ESM does).
//! - Headers are an array of one-entry objects whose value is the header's bytes as *signed*
//!   numbers (-128..127, Java's `byte[]`, which `aws_lambda_events` decodes as `Vec<i8>`); a
//!   header without a value becomes an empty array.
//! - A record without a timestamp gets `"timestamp":-1,"timestampType":"NO_TIMESTAMP_TYPE"`.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use fanout_engine::{DeliveryRecord, TimestampType};
use fanout_router::RecordView;

/// Where the records come from, as the ESM event names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventSource {
    /// Comma-separated `host:port` list for `bootstrapServers` (omitted when `None`).
    pub bootstrap_servers: Option<String>,
    /// MSK cluster ARN: when set, `eventSource` is `aws:kafka` with this `eventSourceArn`.
    pub event_source_arn: Option<String>,
}

/// What one invocation sends: the payload and which batch records it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// Indices into the batch, in batch order.
    pub records: Vec<usize>,
    /// The invocation payload (JSON).
    pub payload: Vec<u8>,
}

/// A batch split into invocations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Invocations, in batch order.
    pub chunks: Vec<Chunk>,
    /// Records that can never fit the limit alone: (batch index, payload bytes they need).
    pub too_large: Vec<(usize, usize)>,
}

/// `"<topic>-<partition>"`: the ESM `records` key and batch-item-failure identifier.
pub fn partition_key(record: &DeliveryRecord) -> String {
    format!("{}-{}", record.topic, record.partition)
}

/// One record as an ESM record object.
pub fn esm_record(record: &DeliveryRecord) -> Vec<u8> {
    let mut out = Vec::with_capacity(
        128 + record.size() * 4 / 3 + record.topic.len() + 16 * record.headers.len(),
    );
    out.extend_from_slice(b"{\"topic\":");
    push_json_string(&mut out, &record.topic);
    let (timestamp, timestamp_type) = match (record.timestamp, record.timestamp_type) {
        (Some(ts), TimestampType::CreateTime) => (ts, "CREATE_TIME"),
        (Some(ts), TimestampType::LogAppendTime) => (ts, "LOG_APPEND_TIME"),
        _ => (-1, "NO_TIMESTAMP_TYPE"),
    };
    out.extend_from_slice(
        format!(
            ",\"partition\":{},\"offset\":{},\"timestamp\":{timestamp},\"timestampType\":\"{timestamp_type}\"",
            record.partition, record.offset
        )
        .as_bytes(),
    );
    for (name, bytes) in [("key", &record.key), ("value", &record.value)] {
        if let Some(bytes) = bytes {
            out.extend_from_slice(format!(",\"{name}\":\"").as_bytes());
            out.extend_from_slice(STANDARD.encode(bytes).as_bytes());
            out.push(b'"');
        }
    }
    out.extend_from_slice(b",\"headers\":[");
    for (i, (name, value)) in record.headers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        push_json_string(&mut out, name);
        out.extend_from_slice(b":[");
        for (j, b) in value.as_deref().unwrap_or_default().iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            // Java's signed bytes: 0xC3 is -61.
            out.extend_from_slice((*b as i8).to_string().as_bytes());
        }
        out.extend_from_slice(b"]}");
    }
    out.extend_from_slice(b"]}");
    out
}

fn push_json_string(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing a string to a Vec cannot fail");
}

/// The ESM event's opening, up to and including `"records":{`.
fn esm_prefix(source: &EventSource) -> Vec<u8> {
    let mut out = Vec::new();
    match &source.event_source_arn {
        Some(arn) => {
            out.extend_from_slice(b"{\"eventSource\":\"aws:kafka\",\"eventSourceArn\":");
            push_json_string(&mut out, arn);
        }
        None => out.extend_from_slice(b"{\"eventSource\":\"SelfManagedKafka\""),
    }
    if let Some(servers) = &source.bootstrap_servers {
        out.extend_from_slice(b",\"bootstrapServers\":");
        push_json_string(&mut out, servers);
    }
    out.extend_from_slice(b",\"records\":{");
    out
}

/// One ESM invocation being filled: groups of encoded records by partition key.
struct EsmChunk {
    groups: Vec<(String, Vec<Vec<u8>>)>,
    records: Vec<usize>,
    size: usize,
}

impl EsmChunk {
    fn new(prefix_len: usize) -> EsmChunk {
        EsmChunk {
            groups: Vec::new(),
            records: Vec::new(),
            // `prefix` + `}}`
            size: prefix_len + 2,
        }
    }

    /// Bytes the chunk grows by when `record` (of group `key`) is added.
    fn growth(&self, key: &str, record: &[u8]) -> usize {
        match self.groups.iter().find(|(k, _)| k == key) {
            Some(_) => record.len() + 1,
            None => {
                let comma = usize::from(!self.groups.is_empty());
                // `"key":[` + record + `]`
                comma + json_string_len(key) + 3 + record.len()
            }
        }
    }

    fn push(&mut self, index: usize, key: String, record: Vec<u8>) {
        self.size += self.growth(&key, &record);
        self.records.push(index);
        match self.groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, records)) => records.push(record),
            None => self.groups.push((key, vec![record])),
        }
    }

    fn finish(self, prefix: &[u8]) -> Chunk {
        let mut payload = Vec::with_capacity(self.size);
        payload.extend_from_slice(prefix);
        for (i, (key, records)) in self.groups.iter().enumerate() {
            if i > 0 {
                payload.push(b',');
            }
            push_json_string(&mut payload, key);
            payload.extend_from_slice(b":[");
            for (j, r) in records.iter().enumerate() {
                if j > 0 {
                    payload.push(b',');
                }
                payload.extend_from_slice(r);
            }
            payload.push(b']');
        }
        payload.extend_from_slice(b"}}");
        debug_assert_eq!(payload.len(), self.size);
        Chunk {
            records: self.records,
            payload,
        }
    }
}

fn json_string_len(s: &str) -> usize {
    let mut out = Vec::new();
    push_json_string(&mut out, s);
    out.len()
}

/// Splits a batch into ESM events of at most `limit` bytes each, in batch order.
pub fn plan_esm(batch: &[Arc<DeliveryRecord>], source: &EventSource, limit: usize) -> Plan {
    let prefix = esm_prefix(source);
    let mut plan = Plan::default();
    let mut chunk = EsmChunk::new(prefix.len());
    for (index, record) in batch.iter().enumerate() {
        let key = partition_key(record);
        let encoded = esm_record(record);
        if chunk.size + chunk.growth(&key, &encoded) > limit {
            let alone = EsmChunk::new(prefix.len());
            let needed = alone.size + alone.growth(&key, &encoded);
            if needed > limit {
                plan.too_large.push((index, needed));
                continue;
            }
            let full = std::mem::replace(&mut chunk, alone);
            plan.chunks.push(full.finish(&prefix));
        }
        chunk.push(index, key, encoded);
    }
    if !chunk.records.is_empty() {
        plan.chunks.push(chunk.finish(&prefix));
    }
    plan
}

/// One invocation per record, each the record's view as JSON, with a key or value that is JSON
/// sent as its own text ([`RecordView::write_json`]): the function receives the JSON the
/// route's filters matched, even where serde_json could not build it (a number beyond `f64`, a
/// lone surrogate, nesting deeper than 128).
pub fn plan_records(batch: &[Arc<DeliveryRecord>], limit: usize) -> Plan {
    let mut plan = Plan::default();
    for (index, record) in batch.iter().enumerate() {
        let mut payload = Vec::with_capacity(record.size() + 128);
        RecordView::write_json(record.parts(), record.header_parts(), &mut payload);
        if payload.len() > limit {
            plan.too_large.push((index, payload.len()));
        } else {
            plan.chunks.push(Chunk {
                records: vec![index],
                payload,
            });
        }
    }
    plan
}

#[cfg(test)]
mod record_format_tests {
    use fanout_router::{RecordParts, RouteTable};

    use super::*;

    fn record(value: &str) -> Arc<DeliveryRecord> {
        Arc::new(DeliveryRecord {
            topic: "t".into(),
            partition: 0,
            offset: 7,
            timestamp: Some(1_545_084_650_987),
            timestamp_type: TimestampType::CreateTime,
            key: Some(b"k-1".to_vec()),
            value: Some(value.as_bytes().to_vec()),
            headers: vec![("h".into(), Some(b"x".to_vec()))],
            header_name_bytes: Vec::new(),
        })
    }

    /// Whether `payload`, read as a record value by fanout's parser, has an object `value`
    /// with `"ok": 1`.
    fn value_is_an_object(payload: &[u8]) -> bool {
        let mut builder = RouteTable::builder();
        builder.add_file(
            "r.yaml",
            "routes: [{name: r, topics: [t], filters: [{pattern: {\"value\": {\"value\": {\"ok\": [1]}}}}], targets: [{lambda: {function: f}}]}]",
        );
        let table = builder.build().expect("valid route");
        let parts = RecordParts {
            topic: "t",
            value: Some(payload),
            ..Default::default()
        };
        let mut out = Vec::new();
        table.match_parts(parts, [], &mut out);
        out.len() == 1
    }

    #[test]
    fn values_serde_json_cannot_build_are_sent_as_the_json_the_filters_saw() {
        let deep = format!(r#"{{"ok":1,"z":{}{}}}"#, "[".repeat(200), "]".repeat(200));
        for value in [
            r#"{"ok":1,"n":1e400}"#.to_owned(),
            r#"{"ok":1,"s":"\ud800"}"#.to_owned(),
            deep,
        ] {
            let plan = plan_records(&[record(&value)], 1 << 20);
            let payload = &plan.chunks[0].payload;
            let text = std::str::from_utf8(payload).expect("UTF-8");
            assert!(text.ends_with(&format!(r#","value":{value}}}"#)), "{text}");
            assert!(value_is_an_object(payload), "{text}");
            assert!(fanout_router::record::json_text(payload).is_some());
        }
        // Ordinary JSON: the record view, as before.
        let plan = plan_records(&[record(r#"{"ok": 1}"#)], 1 << 20);
        let view: serde_json::Value = serde_json::from_slice(&plan.chunks[0].payload).unwrap();
        assert_eq!(view, *record(r#"{"ok": 1}"#).view().view());
    }
}
