//! The per-topic index: a trie of the anchor paths, each with lookups for its anchors.

use crate::json::{Json, NO_KEY, Scalar, Shape, same_name};
use crate::projection::Need;

use super::anchor::{Anchor, AnchorTest, Range, ValueKey, f64_key, folded_chars};
use super::hash::{FastMap, Lookup};
use super::ranges::RangeIndex;

/// Routes (`RouteId.0`) sharing one key.
type Ids = Box<[u32]>;

/// Prefixes (or suffixes) of one length, in bytes → routes.
type PrefixMap = Lookup<Box<[u8]>, Ids>;

/// Children looked up by name instead of scanned once a trie node has more than this many.
const SCAN_LIMIT: usize = 8;

/// The index of one topic: which routes' indexed conditions hold for a record, read off the
/// anchor paths only.
#[derive(Debug, Clone, Default)]
pub(crate) struct TopicIndex {
    /// The trie of anchor paths; `nodes[0]` is the record view.
    nodes: Vec<TrieNode>,
    /// Routes without anchors, ascending: candidates for every record.
    pub(crate) always: Vec<u32>,
}

#[derive(Debug, Clone, Default)]
struct TrieNode {
    /// Member name → child node.
    children: Vec<(Box<str>, usize)>,
    /// The same, as a map, when there are many children.
    by_name: FastMap<Box<str>, usize>,
    /// The child for each field of the [`Need`] at this path ([`Json::key`] → node), when
    /// that need reads fields; [`NO_KEY`] where no anchor path continues.
    by_key: Vec<u32>,
    /// Lookups for the anchors whose path ends here.
    anchors: Option<PathIndex>,
}

/// Lookups for the anchors of one path.
#[derive(Debug, Clone, Default)]
struct PathIndex {
    strings: Lookup<Box<str>, Ids>,
    /// `equals-ignore-case` values, folded; looked up with the record's string folded.
    folded: Lookup<Box<str>, Ids>,
    /// Whether `folded` has any key (most paths have none: no fold per string).
    any_folded: bool,
    numbers: Lookup<u64, Ids>,
    /// `[false, true]`.
    bools: [Ids; 2],
    nulls: Ids,
    /// One map per prefix length (in bytes), keyed by the prefix.
    prefixes: Vec<(usize, PrefixMap)>,
    /// The same for suffixes.
    suffixes: Vec<(usize, PrefixMap)>,
    ranges: RangeIndex,
}

impl TopicIndex {
    /// Calls `found` with every route some indexed anchor of which holds in `view` (possibly
    /// more than once; routes without anchors are in [`TopicIndex::always`] instead).
    pub(crate) fn candidates<'v>(&self, view: impl Json<'v>, found: &mut impl FnMut(u32)) {
        if !self.nodes.is_empty() {
            self.visit(0, view, found);
        }
    }

    fn visit<'v, J: Json<'v>>(&self, at: usize, value: J, found: &mut impl FnMut(u32)) {
        let node = &self.nodes[at];
        match value.shape() {
            Shape::Array => {
                for item in value.items() {
                    self.visit(at, item, found);
                }
            }
            Shape::Object if J::INDEXED => {
                if node.by_name.is_empty() || value.member_count() > node.children.len() {
                    for (name, child) in &node.children {
                        if let Some(value) = value.get(name) {
                            self.visit(*child, value, found);
                        }
                    }
                } else {
                    for (name, value) in value.members() {
                        if let Some(&child) = node.by_name.get(name) {
                            self.visit(child, value, found);
                        }
                    }
                }
            }
            Shape::Object => {
                for (name, value) in value.members() {
                    let child = match node.by_key.get(value.key() as usize) {
                        Some(&child) => (child != NO_KEY).then_some(child as usize),
                        None if node.by_name.is_empty() => node
                            .children
                            .iter()
                            .find(|(n, _)| same_name(n, name))
                            .map(|(_, c)| *c),
                        None => node.by_name.get(name).copied(),
                    };
                    if let Some(child) = child {
                        self.visit(child, value, found);
                    }
                }
            }
            Shape::Scalar(scalar) => {
                if let Some(anchors) = &node.anchors {
                    anchors.probe(scalar, found);
                }
            }
        }
    }
}

impl TopicIndex {
    /// Links the trie to what is parsed of a record (`need`, at the root): each node whose
    /// path `need` reads by fields gets its children by field index.
    pub(crate) fn link(&mut self, need: &Need) {
        self.link_node(0, need);
    }

    fn link_node(&mut self, at: usize, need: &Need) {
        let Need::Fields(fields) = need else {
            return; // parsed whole: members are found by name
        };
        let mut by_key = Vec::with_capacity(fields.len());
        for field in fields.iter() {
            let (name, read) = (&field.name, &field.read);
            let child = self.nodes[at]
                .children
                .iter()
                .find(|(n, _)| **n == **name)
                .map(|(_, c)| *c);
            by_key.push(child.map_or(NO_KEY, |c| c as u32));
            if let Some(child) = child {
                self.link_node(child, read);
            }
        }
        self.nodes[at].by_key = by_key;
    }
}

impl PathIndex {
    fn probe(&self, value: Scalar<'_>, found: &mut impl FnMut(u32)) {
        let ids: Option<&Ids> = match value {
            Scalar::Str(s) => {
                let bytes = s.as_bytes();
                for (len, map) in &self.prefixes {
                    if let Some(ids) = bytes.get(..*len).and_then(|p| map.get(p)) {
                        ids.iter().for_each(|&id| found(id));
                    }
                }
                for (len, map) in &self.suffixes {
                    let start = bytes.len().wrapping_sub(*len);
                    if let Some(ids) = bytes.get(start..).and_then(|p| map.get(p)) {
                        ids.iter().for_each(|&id| found(id));
                    }
                }
                if self.any_folded
                    && let Some(ids) = with_folded(s, |folded| self.folded.get(folded))
                {
                    ids.iter().for_each(|&id| found(id));
                }
                self.strings.get(s)
            }
            Scalar::Number(n) => {
                let Some(x) = n.as_f64() else { return };
                if !self.ranges.is_empty() {
                    self.ranges.stab(x, found);
                }
                self.numbers.get(&f64_key(x))
            }
            Scalar::Bool(b) => Some(&self.bools[usize::from(b)]),
            Scalar::Null => Some(&self.nulls),
        };
        if let Some(ids) = ids {
            ids.iter().for_each(|&id| found(id));
        }
    }
}

/// Longest ASCII string folded on the stack.
const STACK_FOLD: usize = 128;

/// Calls `f` with `text` folded as [`AnchorTest::Folded`] folds it: `text` itself when it has
/// no upper-case letter and is ASCII, an ASCII fold on the stack, or else a new `String`.
fn with_folded<R>(text: &str, f: impl FnOnce(&str) -> R) -> R {
    let bytes = text.as_bytes();
    if bytes.is_ascii() {
        if !bytes.iter().any(u8::is_ascii_uppercase) {
            return f(text);
        }
        if bytes.len() <= STACK_FOLD {
            let mut buf = [0u8; STACK_FOLD];
            let buf = &mut buf[..bytes.len()];
            buf.copy_from_slice(bytes);
            buf.make_ascii_lowercase();
            // ASCII stays ASCII, so valid UTF-8.
            return f(std::str::from_utf8(buf).unwrap_or(text));
        }
    }
    f(&folded_chars(text).collect::<String>())
}

/// Collects routes' indexed conditions and routes without any, then builds a [`TopicIndex`].
#[derive(Debug, Default)]
pub(crate) struct TopicIndexBuilder {
    paths: FastMap<Vec<String>, PathBuilder>,
    always: Vec<u32>,
}

#[derive(Debug, Default)]
struct PathBuilder {
    exact: FastMap<ValueKey, Vec<u32>>,
    folded: FastMap<String, Vec<u32>>,
    prefixes: FastMap<String, Vec<u32>>,
    suffixes: FastMap<String, Vec<u32>>,
    ranges: Vec<(Range, u32)>,
}

impl TopicIndexBuilder {
    /// Adds a route that is a candidate for every record.
    pub(crate) fn add_always(&mut self, route: u32) {
        self.always.push(route);
    }

    /// Adds a route that is a candidate when any of `anchors` holds.
    pub(crate) fn add_route(&mut self, route: u32, anchors: &[Anchor]) {
        for anchor in anchors {
            let path = self.paths.entry(anchor.path.clone()).or_default();
            match &anchor.test {
                AnchorTest::Exact(key) => path.exact.entry(key.clone()).or_default().push(route),
                AnchorTest::Prefix(p) => path.prefixes.entry(p.clone()).or_default().push(route),
                AnchorTest::Suffix(p) => path.suffixes.entry(p.clone()).or_default().push(route),
                AnchorTest::Range(r) => path.ranges.push((*r, route)),
                AnchorTest::Folded(f) => path.folded.entry(f.clone()).or_default().push(route),
            }
        }
    }

    /// Builds the index.
    pub(crate) fn build(mut self) -> TopicIndex {
        self.always.sort_unstable();
        self.always.dedup();
        let mut index = TopicIndex {
            nodes: vec![TrieNode::default()],
            always: self.always,
        };
        let mut paths: Vec<_> = self.paths.into_iter().collect();
        paths.sort_by(|a, b| a.0.cmp(&b.0));
        for (path, built) in paths {
            let mut at = 0;
            for name in path {
                at = match index.nodes[at].children.iter().find(|(n, _)| **n == *name) {
                    Some(&(_, child)) => child,
                    None => {
                        let child = index.nodes.len();
                        index.nodes.push(TrieNode::default());
                        index.nodes[at].children.push((name.into(), child));
                        child
                    }
                };
            }
            index.nodes[at].anchors = Some(built.finish());
        }
        for node in &mut index.nodes {
            if node.children.len() > SCAN_LIMIT {
                node.by_name = node.children.iter().cloned().collect();
            }
        }
        index
    }
}

impl PathBuilder {
    fn finish(self) -> PathIndex {
        let mut index = PathIndex {
            ranges: RangeIndex::new(self.ranges),
            ..PathIndex::default()
        };
        let (mut strings, mut numbers) = (Vec::new(), Vec::new());
        for (key, ids) in self.exact {
            let ids = ids_of(ids);
            match key {
                ValueKey::Str(s) => strings.push((s.into(), ids)),
                ValueKey::Num(n) => numbers.push((n, ids)),
                ValueKey::Bool(b) => index.bools[usize::from(b)] = ids,
                ValueKey::Null => index.nulls = ids,
            }
        }
        index.strings = strings.into_iter().collect();
        index.numbers = numbers.into_iter().collect();
        index.any_folded = !self.folded.is_empty();
        index.folded = self
            .folded
            .into_iter()
            .map(|(text, ids)| (text.into(), ids_of(ids)))
            .collect();
        index.prefixes = by_length(self.prefixes);
        index.suffixes = by_length(self.suffixes);
        index
    }
}

/// Groups strings by length (in bytes): one map per length, shortest first.
fn by_length(strings: FastMap<String, Vec<u32>>) -> Vec<(usize, PrefixMap)> {
    let mut maps: FastMap<usize, Vec<_>> = FastMap::default();
    for (text, ids) in strings {
        maps.entry(text.len())
            .or_default()
            .push((Box::<[u8]>::from(text.into_bytes()), ids_of(ids)));
    }
    let mut maps: Vec<_> = maps
        .into_iter()
        .map(|(len, entries)| (len, entries.into_iter().collect()))
        .collect();
    maps.sort_by_key(|(len, _)| *len);
    maps
}

fn ids_of(mut ids: Vec<u32>) -> Ids {
    ids.sort_unstable();
    ids.dedup();
    ids.into()
}
