//! The record view: the one JSON document every filter sees for a Kafka record.
//!
//! ```json
//! {"topic": "orders", "partition": 3, "offset": 42, "timestamp": 1700000000000,
//!  "key": "order-17", "headers": {"trace-id": "abc"}, "value": {"amount": 120}}
//! ```
//!
//! Decoding rules (the same for `key` and `value`):
//! - bytes that are valid JSON (RFC 8259, any JSON value) become that value;
//! - otherwise bytes that are valid UTF-8 become a JSON string;
//! - otherwise (binary) the field is absent;
//! - a record without a key, or a tombstone (no value), has no `key` / `value` field.
//!
//! `timestamp` is milliseconds since the Unix epoch, absent when the broker gave none.
//! `headers` maps each header name to its value as a string (bytes that are not UTF-8 are
//! decoded lossily, with U+FFFD); a header without a value is `null`; a name that occurs more
//! than once maps to an array of its values in record order. `headers` is always present (an
//! empty object when the record has none).

use serde_json::{Map, Value};

/// One Kafka record as the JSON document filters match against.
///
/// Built once per record and shared by every filter of the route table. The view is stored
/// inside a one-element array so that JSONPath filters can select it without copying.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordView {
    /// `[view]`: see [`RecordView::view`].
    doc: Value,
}

/// The parts of a Kafka record a [`RecordView`] is built from.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordParts<'a> {
    /// Topic name.
    pub topic: &'a str,
    /// Partition number.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
    /// Record timestamp, milliseconds since the Unix epoch.
    pub timestamp: Option<i64>,
    /// Key bytes; `None` when the record has no key.
    pub key: Option<&'a [u8]>,
    /// Value bytes; `None` for a tombstone.
    pub value: Option<&'a [u8]>,
}

impl RecordView {
    /// Builds the view of a Kafka record from its parts and headers (name, value bytes).
    pub fn from_parts<'h>(
        parts: RecordParts<'_>,
        headers: impl IntoIterator<Item = (&'h str, Option<&'h [u8]>)>,
    ) -> RecordView {
        let mut view = Map::new();
        view.insert("topic".into(), Value::String(parts.topic.to_owned()));
        view.insert("partition".into(), parts.partition.into());
        view.insert("offset".into(), parts.offset.into());
        if let Some(ts) = parts.timestamp {
            view.insert("timestamp".into(), ts.into());
        }
        if let Some(key) = parts.key.and_then(decode_payload) {
            view.insert("key".into(), key);
        }
        let mut header_map = Map::new();
        for (name, bytes) in headers {
            let value = match bytes {
                Some(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
                None => Value::Null,
            };
            push_header(&mut header_map, name, value);
        }
        view.insert("headers".into(), Value::Object(header_map));
        if let Some(value) = parts.value.and_then(decode_payload) {
            view.insert("value".into(), value);
        }
        RecordView::from_view(Value::Object(view))
    }

    /// Wraps an already-built view document (e.g. a line of a dry-run input file).
    pub fn from_view(view: Value) -> RecordView {
        RecordView {
            doc: Value::Array(vec![view]),
        }
    }

    /// The view document.
    pub fn view(&self) -> &Value {
        &self
            .doc
            .as_array()
            .expect("record view is a one-element array")[0]
    }

    /// The topic, or `""` when the view has none.
    pub fn topic(&self) -> &str {
        self.view()
            .get("topic")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// The view wrapped in a one-element array (what JSONPath filters are run on).
    pub(crate) fn wrapped(&self) -> &Value {
        &self.doc
    }

    /// Takes the view document back.
    pub fn into_view(self) -> Value {
        match self.doc {
            Value::Array(mut items) => items.pop().unwrap_or(Value::Null),
            other => other,
        }
    }
}

fn push_header(map: &mut Map<String, Value>, name: &str, value: Value) {
    match map.get_mut(name) {
        None => {
            map.insert(name.to_owned(), value);
        }
        // Single header values are strings or null, so an array here is a list of repeats.
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, value]);
        }
    }
}

/// Decodes key or value bytes: JSON if valid JSON, else a UTF-8 string, else `None` (binary).
pub fn decode_payload(bytes: &[u8]) -> Option<Value> {
    if let Ok(value) = serde_json::from_slice::<Value>(bytes) {
        return Some(value);
    }
    std::str::from_utf8(bytes)
        .ok()
        .map(|s| Value::String(s.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parts<'a>(key: Option<&'a [u8]>, value: Option<&'a [u8]>) -> RecordParts<'a> {
        RecordParts {
            topic: "orders",
            partition: 2,
            offset: 7,
            timestamp: Some(1_700_000_000_000),
            key,
            value,
        }
    }

    #[test]
    fn json_payloads_are_parsed() {
        let v = RecordView::from_parts(parts(Some(b"\"k1\""), Some(br#"{"a":1}"#)), []);
        assert_eq!(
            v.view(),
            &json!({"topic":"orders","partition":2,"offset":7,"timestamp":1_700_000_000_000_i64,
                    "key":"k1","headers":{},"value":{"a":1}})
        );
    }

    #[test]
    fn non_json_utf8_is_a_string_and_binary_is_absent() {
        let v = RecordView::from_parts(parts(Some(b"order-1"), Some(&[0xff, 0xfe])), []);
        assert_eq!(v.view()["key"], json!("order-1"));
        assert!(v.view().get("value").is_none());
    }

    #[test]
    fn scalars_that_are_json_are_parsed_as_json() {
        let v = RecordView::from_parts(parts(Some(b"42"), Some(b"true")), []);
        assert_eq!(v.view()["key"], json!(42));
        assert_eq!(v.view()["value"], json!(true));
    }

    #[test]
    fn missing_key_and_tombstone_are_absent() {
        let v = RecordView::from_parts(parts(None, None), []);
        assert!(v.view().get("key").is_none());
        assert!(v.view().get("value").is_none());
        assert_eq!(v.topic(), "orders");
    }

    #[test]
    fn headers_map_names_to_strings_and_repeats_to_arrays() {
        let headers: [(&str, Option<&[u8]>); 5] = [
            ("a", Some(b"1")),
            ("b", None),
            ("a", Some(b"2")),
            ("a", Some(b"3")),
            ("bin", Some(&[0x66, 0xff])),
        ];
        let v = RecordView::from_parts(parts(None, None), headers);
        assert_eq!(
            v.view()["headers"],
            json!({"a":["1","2","3"],"b":null,"bin":"f\u{fffd}"})
        );
    }

    #[test]
    fn into_view_returns_the_document() {
        let v = RecordView::from_view(json!({"topic":"t"}));
        assert_eq!(v.into_view(), json!({"topic":"t"}));
    }
}
