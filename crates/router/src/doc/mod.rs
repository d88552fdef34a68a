//! A record parsed for matching, without a `serde_json::Value` tree.
//!
//! [`crate::RouteTable::match_parts`] parses a record into a [`Doc`]: the members the table's
//! filters read (see [`crate::projection`]), as nodes in one vector. Strings without escapes
//! borrow the record's bytes, member names borrow the table's, containers link their members,
//! so a record costs one vector instead of an allocation per string, member and map node. The
//! decoding rules are the record view's ([`crate::record`]): a node reads the same as the
//! `Value` the view would hold there, and filters read it through [`Json`].
//!
//! Building is linear in the record whatever its shape: a repeated member name is found
//! through a hash map once an object has more than a few members ([`Names`]), nesting is
//! built only to serde_json's depth limit and skipped iteratively below it, and strings are
//! scanned once.

mod parse;

pub(crate) use parse::is_json;

use std::borrow::Cow;
use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use serde_json::{Map, Number, Value};

use crate::json::{Json, NO_KEY, Scalar, Shape, same_name};
use crate::projection::{Need, Reads};
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
    /// See [`Json::key`].
    key: u32,
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
    /// Parses the members of a record that `reads` names, plus `topic` (which the route table
    /// looks up first).
    pub(crate) fn record<'h: 'a>(
        parts: RecordParts<'a>,
        headers: impl IntoIterator<Item = (&'h str, Option<&'h [u8]>)>,
        reads: &'a Reads,
    ) -> Doc<'a> {
        let mut doc = Doc {
            slots: spare_slots(),
        };
        let root = doc.push("".into(), Item::Object(EMPTY));
        // Members carry their field index in what is read (the index finds its paths by it).
        let topic = doc.member(root, "topic", Item::Str(parts.topic.into()));
        if let Some(key) = reads.topic {
            doc.slots[topic as usize].key = key;
        }
        let numbers = [
            (
                "partition",
                reads.partition,
                Some(i64::from(parts.partition)),
            ),
            ("offset", reads.offset, Some(parts.offset)),
            ("timestamp", reads.timestamp, parts.timestamp),
        ];
        for (name, read, number) in numbers {
            if let (Some(key), Some(n)) = (read, number) {
                let child = doc.member(root, name, Item::Number(n.into()));
                doc.slots[child as usize].key = key;
            }
        }
        if let (Some(bytes), Some(key)) = (parts.key, reads.key) {
            doc.payload(root, "key", bytes, reads.of(key), key);
        }
        if let Some(key) = reads.headers {
            let read = reads.of(key);
            let map = doc.member(root, "headers", Item::Object(EMPTY));
            doc.slots[map as usize].key = key;
            let mut names = Names::default();
            for (name, bytes) in headers {
                if let Some((key, _)) = read.find(name) {
                    let value = bytes.map_or(Item::Null, |b| Item::Str(lossy(b)));
                    doc.header(map, name, value, key, &mut names);
                }
            }
        }
        if let (Some(bytes), Some(key)) = (parts.value, reads.value) {
            doc.payload(root, "value", bytes, reads.of(key), key);
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
            key: NO_KEY,
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

    /// Puts node `child` into object `parent`, whose members so far `names` holds, under its
    /// name; when the object already has a member of that name, that member takes the value
    /// (the last repeat wins, as in serde_json).
    fn set_member(&mut self, parent: u32, child: u32, names: &mut Names) {
        let name = &self.slots[child as usize].name;
        match names.find(&self.slots, parent, name) {
            Some(existing) => {
                let item = std::mem::replace(&mut self.slots[child as usize].item, Item::Null);
                self.slots[existing as usize].item = item;
            }
            None => {
                names.added(&self.slots, child);
                self.append(parent, child);
            }
        }
    }

    /// Adds a header to the headers object (whose members so far `names` holds): a name seen
    /// before becomes an array of its values.
    fn header(&mut self, map: u32, name: &'a str, value: Item<'a>, key: u32, names: &mut Names) {
        let Some(existing) = names.find(&self.slots, map, name) else {
            let child = self.push(name.into(), value);
            self.slots[child as usize].key = key;
            names.added(&self.slots, child);
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
    fn payload(
        &mut self,
        parent: u32,
        name: &'static str,
        bytes: &'a [u8],
        need: &'a Need,
        key: u32,
    ) {
        // JSON text that is not UTF-8 is not JSON.
        let Ok(text) = simdutf8::basic::from_utf8(bytes) else {
            return;
        };
        let mark = self.slots.len();
        let child = match parse::value(self, text, need, name) {
            Ok(at) => at,
            Err(parse::NotJson) => {
                self.slots.truncate(mark);
                self.push(name.into(), Item::Str(text.into()))
            }
        };
        self.slots[child as usize].key = key;
        self.append(parent, child);
    }
}

/// Objects with up to this many distinct members find an earlier member of a name by
/// comparing names in turn; larger ones through a hash table, so that building an object is
/// linear in its members however many there are.
const SCANNED_MEMBERS: usize = 8;

/// The member names of one object being built, to find an earlier member of the same name.
#[derive(Debug, Default)]
pub(crate) struct Names {
    /// Distinct members so far.
    count: usize,
    /// Once the object has more than [`SCANNED_MEMBERS`] members: each member's node and the
    /// low 32 bits of its name's hash. Eight bytes a member, so that the table of a
    /// 100,000-member object stays in cache (a map keyed by the names was four times that,
    /// and the cost per byte of 8 MiB objects doubled); names are compared only when hashes
    /// agree. The standard hasher's random keys keep crafted names from colliding on purpose.
    table: Option<(RandomState, HashTable<(u32, u32)>)>,
}

/// The table's full hash of a 32-bit name hash: spread over the 64 bits the table reads.
fn spread(hash: u32) -> u64 {
    u64::from(hash).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl Names {
    /// The member of object `parent` (in `slots`) called `name`.
    fn find(&mut self, slots: &[Slot<'_>], parent: u32, name: &str) -> Option<u32> {
        if self.table.is_none() && self.count > SCANNED_MEMBERS {
            let (Item::Array(list) | Item::Object(list)) = slots[parent as usize].item else {
                unreachable!("only arrays and objects have members");
            };
            let state = RandomState::new();
            let mut table = HashTable::with_capacity(2 * self.count);
            let mut at = list.first;
            while let Some(slot) = slots.get(at as usize) {
                let hash = state.hash_one(&*slot.name) as u32;
                table.insert_unique(spread(hash), (at, hash), |&(_, h)| spread(h));
                at = slot.next;
            }
            self.table = Some((state, table));
        }
        if let Some((state, table)) = &self.table {
            let hash = state.hash_one(name) as u32;
            return table
                .find(spread(hash), |&(at, h)| {
                    h == hash && same_name(&slots[at as usize].name, name)
                })
                .map(|&(at, _)| at);
        }
        let node = Node { slots, at: parent };
        node.members()
            .find(|(n, _)| same_name(n, name))
            .map(|(_, member)| member.at)
    }

    /// Notes that node `child` (in `slots`) is a new member of the object.
    fn added(&mut self, slots: &[Slot<'_>], child: u32) {
        self.count += 1;
        if let Some((state, table)) = &mut self.table {
            let hash = state.hash_one(&*slots[child as usize].name) as u32;
            table.insert_unique(spread(hash), (child, hash), |&(_, h)| spread(h));
        }
    }
}

thread_local! {
    /// The node vector of the last dropped [`Doc`] on this thread, emptied, for the next one.
    static SPARE: std::cell::Cell<Vec<Slot<'static>>> = const { std::cell::Cell::new(Vec::new()) };
}

/// An empty node vector, reusing a dropped document's allocation when this thread has one.
fn spare_slots<'a>() -> Vec<Slot<'a>> {
    let spare = SPARE.take();
    if spare.capacity() == 0 {
        return Vec::with_capacity(32);
    }
    // Empty, so no element is converted: collecting into the same layout keeps the allocation.
    spare.into_iter().map(|_| unreachable!("empty")).collect()
}

impl Drop for Doc<'_> {
    fn drop(&mut self) {
        let mut slots = std::mem::take(&mut self.slots);
        slots.clear();
        let slots: Vec<Slot<'static>> = slots.into_iter().map(|_| unreachable!("empty")).collect();
        SPARE.set(slots);
    }
}

/// Header bytes as text, invalid UTF-8 replaced by U+FFFD (as the record view does); borrowed
/// when valid, which is cheaper to check than `from_utf8_lossy`'s chunk-by-chunk walk.
fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
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
            .find(|(n, _)| same_name(n, name))
            .map(|(_, member)| member)
    }

    fn member_count(self) -> usize {
        self.members().count()
    }

    fn key(self) -> u32 {
        self.slot().key
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod shapes;
