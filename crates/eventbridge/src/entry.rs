//! From records to `PutEvents` entries, and from entries to requests within the limits.

use std::sync::Arc;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_smithy_types::DateTime;
use fanout_engine::{DeliveryRecord, Failure, FailureKind, Outcome};
use fanout_router::record::json_text;
use fanout_router::{Detail, DetailType, RecordView};
use serde_json::Value;

/// Most entries one `PutEvents` request takes.
pub const MAX_ENTRIES: usize = 10;

/// Bytes EventBridge counts for an entry's `Time`, when set.
const TIME_BYTES: usize = 14;

/// How a target turns records into events.
#[derive(Debug, Clone)]
pub(crate) struct EntrySpec {
    /// Bus name or ARN.
    pub bus: String,
    /// `Source`.
    pub source: String,
    /// `DetailType`.
    pub detail_type: DetailType,
    /// What `Detail` holds.
    pub detail: Detail,
    /// `Resources`.
    pub resources: Vec<String>,
}

/// One record's entry, with its position in the engine's batch and its size as EventBridge
/// counts it.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    /// Index of the record in the batch.
    pub index: usize,
    /// [`entry_size`] of the entry.
    pub size: usize,
    /// The entry itself.
    pub entry: PutEventsRequestEntry,
}

/// The size EventBridge counts for a `PutEvents` entry ("Calculating PutEvents event entry
/// size" in the EventBridge user guide): 14 bytes for `Time` when set, plus the UTF-8 bytes of
/// `Source`, `DetailType`, `Detail` and every `Resources` item. `EventBusName` does not count.
pub fn entry_size(
    has_time: bool,
    source: &str,
    detail_type: &str,
    detail: &str,
    resources: &[String],
) -> usize {
    let time = if has_time { TIME_BYTES } else { 0 };
    time + source.len()
        + detail_type.len()
        + detail.len()
        + resources.iter().map(String::len).sum::<usize>()
}

impl EntrySpec {
    /// The entry for a record, or why the record cannot become one.
    pub fn entry(&self, index: usize, record: &DeliveryRecord) -> Result<Entry, Failure> {
        let view = record.view();
        let detail_type = self.detail_type.resolve(&view).ok_or_else(|| {
            let path = match &self.detail_type {
                DetailType::Path { text, .. } => text.as_str(),
                DetailType::Constant(_) => "",
            };
            Failure::new(
                FailureKind::InvalidPayload,
                "DetailTypeNotFound",
                format!("detail_type path `{path}` selects no string in the record view"),
            )
        })?;
        let detail = match self.detail {
            Detail::Value => value_detail(record, &view)?,
            Detail::Envelope => envelope_detail(record),
        };
        let size = entry_size(
            record.timestamp.is_some(),
            &self.source,
            detail_type,
            &detail,
            &self.resources,
        );
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(&self.source)
            .detail_type(detail_type)
            .detail(detail)
            .set_time(record.timestamp.map(DateTime::from_millis))
            .set_resources((!self.resources.is_empty()).then(|| self.resources.clone()))
            .build();
        Ok(Entry { index, size, entry })
    }

    /// Entries for a batch; a record that cannot become an entry, or whose entry is larger
    /// than a request may be, gets `Failed` in `outcomes` (one slot per record): that is about
    /// the record alone.
    pub fn entries(
        &self,
        batch: &[Arc<DeliveryRecord>],
        max_request_bytes: usize,
        outcomes: &mut [Outcome],
    ) -> Vec<Entry> {
        let mut entries = Vec::with_capacity(batch.len());
        for (index, record) in batch.iter().enumerate() {
            match self.entry(index, record) {
                Ok(entry) if entry.size > max_request_bytes => {
                    outcomes[index] = Outcome::Failed(Failure::new(
                        FailureKind::PayloadTooLarge,
                        "EntryTooLarge",
                        format!(
                            "the event entry is {} bytes; a PutEvents request may hold at most {max_request_bytes}",
                            entry.size
                        ),
                    ));
                }
                Ok(entry) => entries.push(entry),
                Err(failure) => outcomes[index] = Outcome::Failed(failure),
            }
        }
        entries
    }
}

/// `Detail` for `detail: envelope`: the record view as JSON text, with a key or value that is
/// JSON as its own text ([`RecordView::write_json`]), so the event carries the JSON the route's
/// filters matched even where serde_json could not build it.
fn envelope_detail(record: &DeliveryRecord) -> String {
    let mut out = Vec::with_capacity(record.size() + 128);
    RecordView::write_json(record.parts(), record.header_parts(), &mut out);
    // The view is written from `&str`s and JSON text: always UTF-8.
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `Detail` for `detail: value`: the record's value, which must be a JSON object. The value's
/// own bytes are sent when fanout's parser reads them as a JSON object (what the filters
/// matched; nothing is lost to re-encoding, e.g. large numbers, and values serde_json cannot
/// build, such as nesting deeper than 128, stay objects).
fn value_detail(record: &DeliveryRecord, view: &RecordView) -> Result<String, Failure> {
    if let Some(text) = record.value.as_deref().and_then(json_text)
        && text.starts_with('{')
    {
        return Ok(text.to_owned());
    }
    let found = match view.view().get("value") {
        Some(Value::Object(map)) => return Ok(Value::Object(map.clone()).to_string()),
        Some(Value::Array(_)) => "an array",
        Some(Value::String(_)) => "a string (or text that is not JSON)",
        Some(Value::Number(_)) => "a number",
        Some(Value::Bool(_)) => "a boolean",
        Some(Value::Null) => "null",
        None if record.value.is_none() => "absent (a tombstone)",
        None => "binary (not UTF-8)",
    };
    Err(Failure::new(
        FailureKind::InvalidPayload,
        "DetailNotObject",
        format!("`detail: value` needs the record value to be a JSON object; it is {found}"),
    ))
}

/// Splits entries, in order, into requests of at most `max_entries` entries whose sizes add up
/// to at most `max_bytes`; returns the number of entries of each request. Every size must be at
/// most `max_bytes` (larger entries are failed before).
pub fn split(sizes: &[usize], max_entries: usize, max_bytes: usize) -> Vec<usize> {
    let mut requests = Vec::new();
    let (mut count, mut bytes) = (0, 0);
    for &size in sizes {
        if count > 0 && (count == max_entries || bytes + size > max_bytes) {
            requests.push(count);
            (count, bytes) = (0, 0);
        }
        count += 1;
        bytes += size;
    }
    if count > 0 {
        requests.push(count);
    }
    requests
}

#[cfg(test)]
mod detail_tests {
    use fanout_engine::TimestampType;
    use fanout_router::record::json_text;

    use super::*;

    fn record(value: &str) -> DeliveryRecord {
        DeliveryRecord {
            topic: "orders".into(),
            partition: 1,
            offset: 7,
            timestamp: Some(1_700_000_000_123),
            timestamp_type: TimestampType::CreateTime,
            key: Some(b"k1".to_vec()),
            value: Some(value.as_bytes().to_vec()),
            headers: vec![("trace".to_owned(), Some(b"t1".to_vec()))],
            header_name_bytes: Vec::new(),
        }
    }

    fn spec(detail: Detail) -> EntrySpec {
        EntrySpec {
            bus: "orders-bus".into(),
            source: "fanout.test".into(),
            detail_type: DetailType::Constant("Order".into()),
            detail,
            resources: Vec::new(),
        }
    }

    #[test]
    fn values_serde_json_cannot_build_stay_the_objects_the_filters_saw() {
        let deep = format!(r#"{{"ok":1,"z":{}{}}}"#, "[".repeat(200), "]".repeat(200));
        for value in [
            r#"{"ok":1,"n":1e400}"#.to_owned(),
            r#"{"ok":1,"s":"\ud800"}"#.to_owned(),
            deep,
        ] {
            let r = record(&format!(" {value}\n"));
            // serde_json's view holds a string there.
            assert!(r.view().view()["value"].is_string());
            let e = spec(Detail::Value).entry(0, &r).expect("an object");
            assert_eq!(e.entry.detail(), Some(value.as_str()));
            let e = spec(Detail::Envelope).entry(0, &r).expect("an envelope");
            let detail = e.entry.detail().expect("a detail");
            assert!(
                detail.ends_with(&format!(r#","value":{value}}}"#)),
                "{detail}"
            );
            assert!(json_text(detail.as_bytes()).is_some());
            assert_eq!(
                e.size,
                entry_size(true, "fanout.test", "Order", detail, &[])
            );
        }
        // Not JSON, or JSON but not an object: still refused for `detail: value`.
        for value in [r#"{"ok":1"#, "[1e400]"] {
            let failure = spec(Detail::Value).entry(0, &record(value)).unwrap_err();
            assert_eq!(failure.kind, FailureKind::InvalidPayload, "{value}");
        }
    }
}
