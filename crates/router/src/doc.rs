//! A record parsed for matching, without a `serde_json::Value` tree.
//!
//! [`crate::RouteTable::match_parts`] parses a record into a [`Doc`]: the members the table's
//! filters read (see [`crate::projection`]), as nodes in one vector. Strings without escapes
//! borrow the record's bytes, member names borrow the table's, containers link their members,
//! so a record costs one vector instead of an allocation per string, member and map node. The
//! decoding rules are the record view's ([`crate::record`]): a node reads the same as the
//! `Value` the view would hold there, and filters read it through [`Json`].

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::json::{Json, Scalar, Shape};
use crate::projection::{MemberIndex, Need};
use crate::record::RecordParts;

/// "No node": the end of a member list.
const END: u32 = u32::MAX;

/// A parsed record: node 0 is the record view's object.
#[derive(Debug, Default)]
pub(crate) struct Doc<'a> {
    slots: Vec<Slot<'a>>,
}

#[derive(Debug)]
struct Slot<'a> {
    /// Member name inside an object; empty for array elements and the root.
    name: Cow<'a, str>,
    /// The next member or element of the same container, or [`END`].
    next: u32,
    item: Item<'a>,
}

#[derive(Debug)]
enum Item<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Cow<'a, str>),
    Array(List),
    Object(List),
}

/// The first and last node of a container's member list.
#[derive(Debug, Clone, Copy)]
struct List {
    first: u32,
    last: u32,
}

const EMPTY: List = List {
    first: END,
    last: END,
};

impl<'a> Doc<'a> {
    /// Parses the members of a record that `need` reads, plus `topic` (which the route table
    /// looks up first).
    pub(crate) fn record<'h: 'a>(
        parts: RecordParts<'a>,
        headers: impl IntoIterator<Item = (&'h str, Option<&'h [u8]>)>,
        need: &'a Need,
    ) -> Doc<'a> {
        let mut doc = Doc {
            slots: Vec::with_capacity(32),
        };
        let root = doc.push("".into(), Item::Object(EMPTY));
        doc.member(root, "topic", Item::Str(parts.topic.into()));
        if need.member("partition").is_some() {
            doc.member(root, "partition", Item::Number(parts.partition.into()));
        }
        if need.member("offset").is_some() {
            doc.member(root, "offset", Item::Number(parts.offset.into()));
        }
        if let Some(ts) = parts
            .timestamp
            .filter(|_| need.member("timestamp").is_some())
        {
            doc.member(root, "timestamp", Item::Number(ts.into()));
        }
        if let (Some(bytes), Some(read)) = (parts.key, need.member("key")) {
            doc.payload(root, "key", bytes, read);
        }
        if let Some(read) = need.member("headers") {
            let map = doc.member(root, "headers", Item::Object(EMPTY));
            for (name, bytes) in headers {
                if read.member(name).is_some() {
                    let value = bytes.map_or(Item::Null, |b| Item::Str(String::from_utf8_lossy(b)));
                    doc.header(map, name, value);
                }
            }
        }
        if let (Some(bytes), Some(read)) = (parts.value, need.member("value")) {
            doc.payload(root, "value", bytes, read);
        }
        doc
    }

    /// The record view's object.
    pub(crate) fn root(&self) -> Node<'_> {
        Node {
            slots: &self.slots,
            at: 0,
        }
    }

    fn push(&mut self, name: Cow<'a, str>, item: Item<'a>) -> u32 {
        self.slots.push(Slot {
            name,
            next: END,
            item,
        });
        (self.slots.len() - 1) as u32
    }

    /// Appends node `child` to container `parent`.
    fn append(&mut self, parent: u32, child: u32) {
        let (Item::Array(list) | Item::Object(list)) = &mut self.slots[parent as usize].item else {
            unreachable!("only arrays and objects have members");
        };
        let previous = std::mem::replace(&mut list.last, child);
        if previous == END {
            list.first = child;
        } else {
            self.slots[previous as usize].next = child;
        }
    }

    /// Adds a new member to object `parent`.
    fn member(&mut self, parent: u32, name: &'static str, item: Item<'a>) -> u32 {
        let child = self.push(name.into(), item);
        self.append(parent, child);
        child
    }

    /// The member of object `parent` called `name`.
    fn find(&self, parent: u32, name: &str) -> Option<u32> {
        let node = Node {
            slots: &self.slots,
            at: parent,
        };
        node.members()
            .find(|(n, _)| *n == name)
            .map(|(_, member)| member.at)
    }

    /// Puts node `child` into object `parent` under its name; when the object already has a
    /// member of that name, that member takes the value (the last repeat wins, as in serde_json).
    fn set_member(&mut self, parent: u32, child: u32) {
        match self.find(parent, &self.slots[child as usize].name) {
            Some(existing) => {
                let item = std::mem::replace(&mut self.slots[child as usize].item, Item::Null);
                self.slots[existing as usize].item = item;
            }
            None => self.append(parent, child),
        }
    }

    /// Adds a header to the headers object: a name seen before becomes an array of its values.
    fn header(&mut self, map: u32, name: &'a str, value: Item<'a>) {
        let Some(existing) = self.find(map, name) else {
            let child = self.push(name.into(), value);
            return self.append(map, child);
        };
        // Header values are strings or null, so an array is a list of repeats.
        if !matches!(self.slots[existing as usize].item, Item::Array(_)) {
            let first =
                std::mem::replace(&mut self.slots[existing as usize].item, Item::Array(EMPTY));
            let first = self.push("".into(), first);
            self.append(existing, first);
        }
        let next = self.push("".into(), value);
        self.append(existing, next);
    }

    /// Adds key or value bytes as member `name` of `parent`: JSON if they are JSON (only what
    /// `need` reads), else a UTF-8 string; nothing when they are neither.
    fn payload(&mut self, parent: u32, name: &'static str, bytes: &'a [u8], need: &'a Need) {
        // JSON text that is not UTF-8 is not JSON; checking first lets the parser skip it.
        let Ok(text) = std::str::from_utf8(bytes) else {
            return;
        };
        let mark = self.slots.len();
        let mut de = serde_json::Deserializer::from_str(text);
        let parsed = Parse {
            doc: self,
            need,
            name: name.into(),
        }
        .deserialize(&mut de)
        .and_then(|at| de.end().map(|()| at));
        let child = match parsed {
            Ok(at) => at,
            Err(_) => {
                self.slots.truncate(mark);
                self.push(name.into(), Item::Str(text.into()))
            }
        };
        self.append(parent, child);
    }
}

/// Parses one JSON value into a node named `name`, building only what `need` reads.
struct Parse<'d, 'a> {
    doc: &'d mut Doc<'a>,
    need: &'a Need,
    name: Cow<'a, str>,
}

impl<'a> Parse<'_, 'a> {
    fn leaf(self, item: Item<'a>) -> u32 {
        self.doc.push(self.name, item)
    }
}

impl<'a> DeserializeSeed<'a> for Parse<'_, 'a> {
    type Value = u32;

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<u32, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'a> Visitor<'a> for Parse<'_, 'a> {
    type Value = u32;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<u32, E> {
        Ok(self.leaf(Item::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<u32, E> {
        Ok(self.leaf(Item::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<u32, E> {
        Ok(self.leaf(Item::Number(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<u32, E> {
        // Non-finite → null, as serde_json's own `Value` does.
        Ok(self.leaf(Number::from_f64(v).map_or(Item::Null, Item::Number)))
    }

    fn visit_borrowed_str<E>(self, v: &'a str) -> Result<u32, E> {
        Ok(self.leaf(Item::Str(v.into())))
    }

    fn visit_str<E>(self, v: &str) -> Result<u32, E> {
        Ok(self.leaf(Item::Str(v.to_owned().into())))
    }

    fn visit_string<E>(self, v: String) -> Result<u32, E> {
        Ok(self.leaf(Item::Str(v.into())))
    }

    fn visit_unit<E>(self) -> Result<u32, E> {
        Ok(self.leaf(Item::Null))
    }

    fn visit_none<E>(self) -> Result<u32, E> {
        Ok(self.leaf(Item::Null))
    }

    fn visit_seq<A: SeqAccess<'a>>(self, mut seq: A) -> Result<u32, A::Error> {
        let at = self.doc.push(self.name, Item::Array(EMPTY));
        // Arrays are looked through: each element is read as the array is.
        while let Some(child) = seq.next_element_seed(Parse {
            doc: &mut *self.doc,
            need: self.need,
            name: "".into(),
        })? {
            self.doc.append(at, child);
        }
        Ok(at)
    }

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<u32, A::Error> {
        let at = self.doc.push(self.name, Item::Object(EMPTY));
        match self.need {
            Need::All => {
                while let Some(name) = map.next_key_seed(Name)? {
                    let child = map.next_value_seed(Parse {
                        doc: &mut *self.doc,
                        need: self.need,
                        name,
                    })?;
                    self.doc.set_member(at, child);
                }
            }
            Need::Fields(children) => {
                // Which read members were seen (the first 64 by index): a member seen once
                // needs no search for an earlier one of the same name.
                let mut seen = 0u64;
                while let Some(member) = map.next_key_seed(MemberIndex(children))? {
                    let Some(i) = member else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    let (name, need) = &children[i];
                    let child = map.next_value_seed(Parse {
                        doc: &mut *self.doc,
                        need,
                        name: name.as_str().into(),
                    })?;
                    let bit = 1u64.checked_shl(i as u32).unwrap_or(0);
                    if bit != 0 && seen & bit == 0 {
                        seen |= bit;
                        self.doc.append(at, child);
                    } else {
                        self.doc.set_member(at, child);
                    }
                }
            }
        }
        Ok(at)
    }
}

/// A member name, borrowed from the text when it has no escapes.
struct Name;

impl<'a> DeserializeSeed<'a> for Name {
    type Value = Cow<'a, str>;

    fn deserialize<D: Deserializer<'a>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'a> Visitor<'a> for Name {
    type Value = Cow<'a, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'a str) -> Result<Self::Value, E> {
        Ok(v.into())
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(v.to_owned().into())
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(v.into())
    }
}

/// A value inside a [`Doc`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Node<'v> {
    slots: &'v [Slot<'v>],
    at: u32,
}

impl<'v> Node<'v> {
    fn slot(self) -> &'v Slot<'v> {
        &self.slots[self.at as usize]
    }

    /// The nodes of a member list starting at `first`.
    fn list(self, first: u32) -> Siblings<'v> {
        Siblings {
            slots: self.slots,
            at: first,
        }
    }

    /// A `Value` of the parts of this node that `need` reads.
    pub(crate) fn to_value(self, need: &Need) -> Value {
        match self.shape() {
            Shape::Scalar(Scalar::Null) => Value::Null,
            Shape::Scalar(Scalar::Bool(b)) => Value::Bool(b),
            Shape::Scalar(Scalar::Number(n)) => Value::Number(n.clone()),
            Shape::Scalar(Scalar::Str(s)) => Value::String(s.to_owned()),
            Shape::Array => Value::Array(self.items().map(|item| item.to_value(need)).collect()),
            Shape::Object => Value::Object(
                self.members()
                    .filter_map(|(name, member)| {
                        need.member(name)
                            .map(|read| (name.to_owned(), member.to_value(read)))
                    })
                    .collect::<Map<String, Value>>(),
            ),
        }
    }
}

/// The members or elements of a container, in order.
struct Siblings<'v> {
    slots: &'v [Slot<'v>],
    at: u32,
}

impl<'v> Iterator for Siblings<'v> {
    type Item = Node<'v>;

    fn next(&mut self) -> Option<Node<'v>> {
        let slot = self.slots.get(self.at as usize)?;
        let node = Node {
            slots: self.slots,
            at: self.at,
        };
        self.at = slot.next;
        Some(node)
    }
}

impl<'v> Json<'v> for Node<'v> {
    const INDEXED: bool = false;

    fn shape(self) -> Shape<'v> {
        match &self.slot().item {
            Item::Null => Shape::Scalar(Scalar::Null),
            Item::Bool(b) => Shape::Scalar(Scalar::Bool(*b)),
            Item::Number(n) => Shape::Scalar(Scalar::Number(n)),
            Item::Str(s) => Shape::Scalar(Scalar::Str(s)),
            Item::Array(_) => Shape::Array,
            Item::Object(_) => Shape::Object,
        }
    }

    fn items(self) -> impl Iterator<Item = Self> {
        match self.slot().item {
            Item::Array(list) => self.list(list.first),
            _ => self.list(END),
        }
    }

    fn members(self) -> impl Iterator<Item = (&'v str, Self)> {
        let first = match self.slot().item {
            Item::Object(list) => list.first,
            _ => END,
        };
        self.list(first).map(|node| (&*node.slot().name, node))
    }

    fn get(self, name: &str) -> Option<Self> {
        self.members()
            .find(|(n, _)| *n == name)
            .map(|(_, member)| member)
    }

    fn member_count(self) -> usize {
        self.members().count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordView;
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

    /// The members of the full view `need` reads (the oracle).
    fn project(value: &Value, need: &Need) -> Value {
        match (value, need) {
            (_, Need::All) => value.clone(),
            (Value::Object(map), _) => Value::Object(
                map.iter()
                    .filter_map(|(k, v)| need.member(k).map(|n| (k.clone(), project(v, n))))
                    .collect(),
            ),
            (Value::Array(items), _) => {
                Value::Array(items.iter().map(|item| project(item, need)).collect())
            }
            _ => value.clone(),
        }
    }

    /// The doc of a record with this value, as a `Value`, and the full view's read members.
    fn both(paths: &[&str], value: &[u8], headers: &[(&str, Option<&[u8]>)]) -> (Value, Value) {
        let need = need(paths);
        let parts = RecordParts {
            topic: "t",
            partition: 3,
            offset: 9,
            timestamp: Some(5),
            key: Some(b"k-1"),
            value: Some(value),
        };
        let doc = Doc::record(parts, headers.iter().copied(), &need);
        let full = RecordView::from_parts(parts, headers.iter().copied());
        let mut read = project(full.view(), &need);
        read["topic"] = json!("t"); // the table looks the topic up first: always there
        (doc.root().to_value(&Need::All), read)
    }

    #[test]
    fn reads_what_the_read_view_holds() {
        let text = br#"{"a":{"b":1,"c":[1,2.5,null,true]},"d":[{"e":"x","f":2},{"e":{"g":"\u00e9"}},5],"h":"skip","a":{"b":2}}"#;
        for paths in [
            &["value.a.c", "value.d.e"][..],
            &["value"],
            &["value.a", "key", "partition", "offset", "timestamp"],
            &["value.zz", "headers.h"],
            &[""],
        ] {
            let (doc, view) = both(paths, text, &[("h", Some(b"1")), ("x", None)]);
            assert_eq!(doc, view, "{paths:?}");
        }
        let (doc, _) = both(&["value.d.e", "value.a.b"], text, &[]);
        assert_eq!(
            doc,
            json!({"topic":"t","value":{"a":{"b":2},"d":[{"e":"x"},{"e":{"g":"é"}},5]}})
        );
    }

    #[test]
    fn decoding_rules_and_headers_match_the_view() {
        let headers: [(&str, Option<&[u8]>); 5] = [
            ("a", Some(b"1")),
            ("b", None),
            ("a", Some(b"2")),
            ("a", Some(b"3")),
            ("bin", Some(&[0x66, 0xff])),
        ];
        for value in [
            &br#"{"a":1,"b":[1,}"#[..],
            br#"{"a":1} x"#,
            b"order-17",
            b"{\"a\":1,\"b\":\"\xff\"}",
            br#"{"a":1,"b":"\q"}"#,
            b"12.5",
            br#"{"\u0061":-3,"a":{"z":[]}}"#,
            br#"{"a":18446744073709551615}"#,
            br#""quoted \"text\"""#,
        ] {
            let (doc, view) = both(&["value.a", "headers"], value, &headers);
            assert_eq!(doc, view, "{}", String::from_utf8_lossy(value));
            let (doc, view) = both(&["value", "headers.a"], value, &headers);
            assert_eq!(doc, view, "{}", String::from_utf8_lossy(value));
        }
    }

    #[test]
    fn nodes_read_like_values() {
        let need = Need::All;
        let parts = RecordParts {
            topic: "t",
            value: Some(br#"{"a":[1,{"b":"x"}],"c":{}}"#),
            ..Default::default()
        };
        let doc = Doc::record(parts, [], &need);
        let value = doc.root().get("value").unwrap();
        assert_eq!(value.member_count(), 2);
        assert_eq!(value.shape(), Shape::Object);
        let items: Vec<_> = value.get("a").unwrap().items().collect();
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[0].shape(),
            Shape::Scalar(Scalar::Number(&Number::from(1)))
        );
        assert_eq!(
            items[1].get("b").map(Json::shape),
            Some(Shape::Scalar(Scalar::Str("x")))
        );
        assert_eq!(value.get("c").map(Json::member_count), Some(0));
        assert!(value.get("zz").is_none());
        assert_eq!(value.get("a").unwrap().members().count(), 0);
    }
}
