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

impl RecordView {
    /// Writes the record view of these parts and headers as JSON text into `out` (appended),
    /// with `key` and `value` that are JSON text (see [`json_text`]) spliced in as their own
    /// bytes: a target receives exactly the JSON the filters of
    /// [`crate::RouteTable::match_parts`] matched, even where serde_json's full parse (and so
    /// [`RecordView::from_parts`]) would turn it into a string: a number beyond the `f64`
    /// range, a lone-surrogate `\u` escape, nesting deeper than 128. Otherwise the same
    /// document as `from_parts(..).view()` serialized by serde_json (members in the same
    /// order), except that spliced JSON keeps its own spelling (spacing, number digits).
    pub fn write_json<'h>(
        parts: RecordParts<'_>,
        headers: impl IntoIterator<Item = (&'h str, Option<&'h [u8]>)>,
        out: &mut Vec<u8>,
    ) {
        let mut header_map = Map::new();
        for (name, bytes) in headers {
            let value = match bytes {
                Some(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
                None => Value::Null,
            };
            push_header(&mut header_map, name, value);
        }
        // serde_json's member order (sorted by name): headers, key, offset, partition,
        // timestamp, topic, value.
        out.extend_from_slice(b"{\"headers\":");
        write_value(out, &header_map);
        if let Some(key) = parts.key {
            write_payload(out, "key", key);
        }
        out.extend_from_slice(
            format!(
                ",\"offset\":{},\"partition\":{}",
                parts.offset, parts.partition
            )
            .as_bytes(),
        );
        if let Some(ts) = parts.timestamp {
            out.extend_from_slice(format!(",\"timestamp\":{ts}").as_bytes());
        }
        out.extend_from_slice(b",\"topic\":");
        write_value(out, parts.topic);
        if let Some(value) = parts.value {
            write_payload(out, "value", value);
        }
        out.push(b'}');
    }
}

/// Key or value bytes as the JSON text they are, without surrounding whitespace: `Some` when
/// they are valid UTF-8 and one JSON value to fanout's parser (RFC 8259: what the filters of
/// [`crate::RouteTable::match_parts`] treat as JSON, including numbers beyond the `f64` range,
/// lone-surrogate escapes and any nesting, which serde_json's full parse rejects).
pub fn json_text(bytes: &[u8]) -> Option<&str> {
    let text = simdutf8::basic::from_utf8(bytes).ok()?;
    crate::doc::is_json(text).then(|| text.trim_matches([' ', '\t', '\n', '\r']))
}

/// Appends `,"name":` and the payload: its JSON text, or else its text as a JSON string;
/// nothing when it is neither (binary), as in the view.
fn write_payload(out: &mut Vec<u8>, name: &str, bytes: &[u8]) {
    if let Some(json) = json_text(bytes) {
        out.extend_from_slice(format!(",\"{name}\":").as_bytes());
        out.extend_from_slice(json.as_bytes());
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        out.extend_from_slice(format!(",\"{name}\":").as_bytes());
        write_value(out, text);
    }
}

/// Appends `value` as JSON.
fn write_value(out: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) {
    // Strings and maps of strings: writing them to a Vec cannot fail.
    serde_json::to_writer(&mut *out, value).expect("strings serialize to a Vec");
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

    fn written(parts: RecordParts<'_>, headers: &[(&str, Option<&[u8]>)]) -> String {
        let mut out = Vec::new();
        RecordView::write_json(parts, headers.iter().copied(), &mut out);
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn written_json_is_the_view() {
        let headers: [(&str, Option<&[u8]>); 4] = [
            ("a", Some(b"1")),
            ("b", None),
            ("a", Some(b"2")),
            ("bin", Some(&[0x66, 0xff])),
        ];
        let values: [Option<&[u8]>; 9] = [
            Some(br#"{"a":1,"b":[true,null,"\u00e9"]}"#),
            Some(b" [1, 2.5, -0] \n"),
            Some(b"order-17"),
            Some(br#"{"a":1"#),
            Some(b"\"x\""),
            Some(b"  "),
            Some(&[0xff, 0xfe]),
            Some(b""),
            None,
        ];
        for value in values {
            for key in [None, Some(&b"k-1"[..]), Some(b"42"), Some(&[0x80])] {
                let mut p = parts(key, value);
                let text = written(p, &headers);
                let full = RecordView::from_parts(p, headers);
                let read: Value = serde_json::from_str(&text).expect(&text);
                assert_eq!(&read, full.view(), "{text}");
                p.timestamp = None;
                let read: Value = serde_json::from_str(&written(p, &[])).unwrap();
                assert_eq!(&read, RecordView::from_parts(p, []).view());
            }
        }
        // Compact JSON: the same bytes as serde_json's serialization of the view.
        let p = parts(Some(b"k"), Some(br#"{"a":[1,{"b":"x"}]}"#));
        assert_eq!(
            written(p, &headers).into_bytes(),
            serde_json::to_vec(RecordView::from_parts(p, headers).view()).unwrap()
        );
    }

    #[test]
    fn written_json_keeps_values_serde_json_cannot_build() {
        let deep = format!(r#"{{"ok":1,"z":{}{}}}"#, "[".repeat(200), "]".repeat(200));
        for value in [
            r#"{"ok":1,"n":1e400}"#.to_owned(),
            r#"{"ok":1,"s":"\ud800"}"#.to_owned(),
            deep,
        ] {
            let p = parts(Some(b"[1e400]"), Some(value.as_bytes()));
            // serde_json's view turns them into strings of their text.
            let full = RecordView::from_parts(p, []);
            assert_eq!(full.view()["value"], json!(value));
            assert_eq!(full.view()["key"], json!("[1e400]"));
            // Written, they stay the JSON they are: an object, an array.
            let text = written(p, &[]);
            assert!(text.contains(r#","key":[1e400],"#), "{text}");
            assert!(text.ends_with(&format!(r#","value":{value}}}"#)), "{text}");
            assert!(crate::doc::is_json(&text));
            assert_eq!(json_text(value.as_bytes()), Some(value.as_str()));
        }
        assert_eq!(json_text(b" {} \n"), Some("{}"));
        assert_eq!(json_text(b"{} x"), None);
        assert_eq!(json_text(b"\xff"), None);
    }

    #[test]
    fn into_view_returns_the_document() {
        let v = RecordView::from_view(json!({"topic":"t"}));
        assert_eq!(v.into_view(), json!({"topic":"t"}));
    }
}
