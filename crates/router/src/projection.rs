//! Reading only what the filters read.
//!
//! A route table knows every field path its filters can look at: the leaf paths of its
//! EventBridge patterns and, for each JSONPath filter, the longest plain-name prefix of each
//! query in it (see [`crate::matcher::jsonpath_anchor::read_prefixes`]). The view built for
//! matching keeps the whole subtree at each of those paths, looks through arrays on the way
//! (patterns and the index do), and skips every other member without building it. Skipped
//! bytes are still checked to be JSON, so a value is JSON, a string or absent exactly as in the
//! full view; filters see the same values at every path they read and match the same records
//! (a property test compares both views on random tables and records).
//!
//! One difference is left on purpose: serde_json's full parse also rejects numbers beyond the
//! `f64` range, `\u` escapes of lone surrogates and nesting deeper than 128 levels, which its
//! syntax check of skipped members accepts (they are valid RFC 8259). Such a record is JSON in
//! the filters' view when those parts lie in members no filter reads.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The parts of a JSON document that are read: all of it, or some members of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Need {
    /// The whole subtree.
    All,
    /// Only these members (of an object; of each object in an array).
    Fields(Vec<(String, Need)>),
}

static ALL: Need = Need::All;

impl Default for Need {
    fn default() -> Need {
        Need::nothing()
    }
}

impl Need {
    /// Nothing is read yet.
    pub fn nothing() -> Need {
        Need::Fields(Vec::new())
    }

    /// Also reads the whole subtree at `path`.
    pub fn add(&mut self, path: &[String]) {
        let Need::Fields(children) = self else {
            return;
        };
        let Some((head, rest)) = path.split_first() else {
            *self = Need::All;
            return;
        };
        let at = match children.iter().position(|(name, _)| name == head) {
            Some(at) => at,
            None => {
                children.push((head.clone(), Need::nothing()));
                children.len() - 1
            }
        };
        children[at].1.add(rest);
    }

    /// What is read of member `name`; `None` when nothing is.
    pub fn member(&self, name: &str) -> Option<&Need> {
        match self {
            Need::All => Some(&ALL),
            Need::Fields(children) => children.iter().find(|(n, _)| n == name).map(|(_, c)| c),
        }
    }
}

/// Decodes key or value bytes like [`crate::record::decode_payload`], building only the parts
/// `need` reads.
pub(crate) fn decode_reading(bytes: &[u8], need: &Need) -> Option<Value> {
    let Need::Fields(children) = need else {
        return crate::record::decode_payload(bytes);
    };
    // JSON text that is not UTF-8 is not JSON; checking first lets the parser skip it.
    let text = std::str::from_utf8(bytes).ok()?;
    let mut de = serde_json::Deserializer::from_str(text);
    match Reading(children)
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
    {
        Ok(value) => Some(value),
        Err(_) => Some(Value::String(text.to_owned())),
    }
}

/// Builds the members of a document that `.0` names; scalars and arrays are kept whole or
/// looked through.
#[derive(Clone, Copy)]
struct Reading<'n>(&'n [(String, Need)]);

impl<'de> DeserializeSeed<'de> for Reading<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Reading<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v)) // non-finite → null, as serde_json's own visitor does
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(member) = map.next_key_seed(MemberIndex(self.0))? {
            let Some(at) = member else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let (name, need) = &self.0[at];
            let value = match need {
                Need::All => map.next_value::<Value>()?,
                Need::Fields(children) => map.next_value_seed(Reading(children))?,
            };
            out.insert(name.clone(), value); // a repeated member: the last wins, as in serde_json
        }
        Ok(Value::Object(out))
    }
}

/// Reads a member name and gives its index among the read members, without allocating.
struct MemberIndex<'n>(&'n [(String, Need)]);

impl<'de> DeserializeSeed<'de> for MemberIndex<'_> {
    type Value = Option<usize>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for MemberIndex<'_> {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|(name, _)| name == v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn need(paths: &[&str]) -> Need {
        let mut need = Need::nothing();
        for p in paths {
            let path: Vec<String> = p
                .split('.')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            need.add(&path);
        }
        need
    }

    fn read(paths: &[&str], text: &str) -> Option<Value> {
        decode_reading(text.as_bytes(), &need(paths))
    }

    #[test]
    fn keeps_the_subtrees_at_read_paths_and_looks_through_arrays() {
        let text = r#"{"a":{"b":1,"c":[1,2]},"d":[{"e":1,"f":2},{"e":{"g":3}},5],"h":"skip"}"#;
        assert_eq!(
            read(&["a.c", "d.e"], text),
            Some(json!({"a":{"c":[1,2]},"d":[{"e":1},{"e":{"g":3}},5]}))
        );
        assert_eq!(read(&["zz"], text), Some(json!({})));
    }

    #[test]
    fn a_shorter_path_covers_longer_ones() {
        let mut n = need(&["a.b", "a"]);
        assert_eq!(n.member("a"), Some(&Need::All));
        n.add(&[]);
        assert_eq!(n, Need::All);
        assert_eq!(n.member("anything"), Some(&Need::All));
    }

    #[test]
    fn decoding_rules_match_the_full_view() {
        // Not JSON (even when only the skipped part is broken): the whole text as a string.
        assert_eq!(
            read(&["a"], r#"{"a":1,"b":[1,}"#),
            Some(json!(r#"{"a":1,"b":[1,}"#))
        );
        assert_eq!(read(&["a"], r#"{"a":1} x"#), Some(json!(r#"{"a":1} x"#)));
        assert_eq!(read(&["a"], "order-17"), Some(json!("order-17")));
        // Invalid UTF-8 anywhere: binary, absent.
        assert_eq!(
            decode_reading(b"{\"a\":1,\"b\":\"\xff\"}", &need(&["a"])),
            None
        );
        // Bad escapes and control characters in skipped strings are still errors.
        assert_eq!(
            read(&["a"], r#"{"a":1,"b":"\q"}"#),
            Some(json!(r#"{"a":1,"b":"\q"}"#))
        );
        assert_eq!(
            read(&["a"], "{\"a\":1,\"b\":\"\u{1}\"}"),
            Some(json!("{\"a\":1,\"b\":\"\u{1}\"}"))
        );
        // Scalars and repeated members.
        assert_eq!(read(&["a"], "12.5"), Some(json!(12.5)));
        assert_eq!(read(&["a"], r#"{"a":1,"a":2}"#), Some(json!({"a":2})));
        assert_eq!(read(&["a"], r#"{"\u0061":-3}"#), Some(json!({"a":-3})));
        assert_eq!(
            read(&["a"], r#"{"a":18446744073709551615}"#),
            Some(json!({"a":u64::MAX}))
        );
    }
}
