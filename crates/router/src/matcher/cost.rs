//! Pricing anchors: an estimate of how often each holds, from the route table alone.
//!
//! The records are not known when the table is built, so the patterns stand in for them: a
//! field that patterns compare with 3,000 distinct customer ids is assumed to hold one of
//! about that many values, so one exact value holds for about 1 record in 3,000, while a field
//! compared with 7 event types holds a given type for 1 record in 7. Prefixes and suffixes are
//! priced the same way among those used at their path, numeric ranges as holding for half of
//! the records. A cost is that frequency in units of 2^-32 (an anchor set costs the sum).

use std::collections::HashSet;
use std::hash::BuildHasherDefault;

use super::anchor::{Anchor, AnchorTest, ValueKey};
use super::hash::{FastHasher, FastMap};

/// The cost of an anchor that holds for every record.
pub(crate) const ALWAYS: u64 = 1 << 32;

type FastSet<T> = HashSet<T, BuildHasherDefault<FastHasher>>;

/// Distinct exact values, prefixes and suffixes the filters use at each path.
#[derive(Debug, Default)]
pub(crate) struct Selectivity {
    paths: FastMap<Vec<String>, Distinct>,
}

#[derive(Debug, Default)]
struct Distinct {
    values: FastSet<ValueKey>,
    prefixes: FastSet<String>,
    suffixes: FastSet<String>,
}

impl Selectivity {
    /// Records an anchor some filter could use.
    pub(crate) fn add(&mut self, anchor: Anchor) {
        let distinct = self.paths.entry(anchor.path).or_default();
        match anchor.test {
            AnchorTest::Exact(value) => {
                distinct.values.insert(value);
            }
            AnchorTest::Prefix(prefix) => {
                distinct.prefixes.insert(prefix);
            }
            AnchorTest::Suffix(suffix) => {
                distinct.suffixes.insert(suffix);
            }
            // Counted among the path's values: the same field's ids, spelled in any case.
            AnchorTest::Folded(folded) => {
                distinct.values.insert(ValueKey::Str(folded));
            }
            AnchorTest::Range(_) => {}
        }
    }

    /// The estimated share of records for which `anchor` holds, in units of 2^-32.
    pub(crate) fn cost(&self, anchor: &Anchor) -> u64 {
        let distinct = self.paths.get(&anchor.path);
        let among = |n: usize| ALWAYS / n.max(2) as u64;
        match &anchor.test {
            AnchorTest::Exact(_) | AnchorTest::Folded(_) => {
                among(distinct.map_or(0, |d| d.values.len()))
            }
            AnchorTest::Prefix(p) if p.is_empty() => ALWAYS,
            AnchorTest::Prefix(_) => among(distinct.map_or(0, |d| d.prefixes.len())),
            AnchorTest::Suffix(s) if s.is_empty() => ALWAYS,
            AnchorTest::Suffix(_) => among(distinct.map_or(0, |d| d.suffixes.len())),
            AnchorTest::Range(_) => ALWAYS / 2,
        }
    }
}
