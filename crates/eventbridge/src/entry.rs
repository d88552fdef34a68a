//! From records to `PutEvents` entries, and from entries to requests within the limits.

use std::sync::Arc;

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_smithy_types::DateTime;
use fanout_engine::{DeliveryRecord, Failure, FailureKind};
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
            Detail::Envelope => view.view().to_string(),
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

    /// Entries for a batch; records that cannot become entries get their failure in `outcomes`
    /// (one slot per record).
    pub fn entries(
        &self,
        batch: &[Arc<DeliveryRecord>],
        max_request_bytes: usize,
        outcomes: &mut [Option<Failure>],
    ) -> Vec<Entry> {
        let mut entries = Vec::with_capacity(batch.len());
        for (index, record) in batch.iter().enumerate() {
            match self.entry(index, record) {
                Ok(entry) if entry.size > max_request_bytes => {
                    outcomes[index] = Some(Failure::new(
                        FailureKind::PayloadTooLarge,
                        "EntryTooLarge",
                        format!(
                            "the event entry is {} bytes; a PutEvents request may hold at most {max_request_bytes}",
                            entry.size
                        ),
                    ));
                }
                Ok(entry) => entries.push(entry),
                Err(failure) => outcomes[index] = Some(failure),
            }
        }
        entries
    }
}

/// `Detail` for `detail: value`: the record's value, which must be a JSON object. The value's
/// own bytes are sent when they are that object (nothing is lost to re-encoding, e.g. large
/// numbers); otherwise the parsed value is encoded.
fn value_detail(record: &DeliveryRecord, view: &RecordView) -> Result<String, Failure> {
    let found = match view.view().get("value") {
        Some(Value::Object(map)) => {
            let raw = record
                .value
                .as_deref()
                .and_then(|b| std::str::from_utf8(b).ok());
            return Ok(match raw {
                Some(text) if text.trim_start().starts_with('{') => text.trim().to_owned(),
                _ => Value::Object(map.clone()).to_string(),
            });
        }
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
