//! A pattern split into its leaves, for the route index (see [`crate::matcher`]).
//!
//! Each field leaf of a pattern's conjunction, taken alone with the nested objects above it, is
//! a pattern of its own and a necessary condition: an object (or the absence of one) in which
//! the whole pattern matches also matches each leaf alone. Leaves are keyed by what they test,
//! so routes sharing a clause (`status: ["PENDING"]`) share one evaluation per record.
//!
//! The converse holds too, for a pattern that is one conjunction (no `$or`, no alternative
//! objects, no dotted names), as long as no object shared by two of its leaves is an array in
//! the record: then every leaf was judged in the same single object. The paths of those
//! shared objects are returned, so the index can check them and skip the exact evaluation.

use super::Pattern;
use super::compile::{Cond, Field, Literal, Node};
use super::eval;
use crate::json::Json;

/// One leaf of a pattern as a pattern of its own.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    /// The chain of single-field objects from the root down to the leaf.
    root: Node,
    /// What the leaf tests, encoded (see [`key_of`]): equal keys, equal leaves. Empty once the
    /// index has taken it.
    pub(crate) key: Box<[u8]>,
}

impl Leaf {
    /// Whether the leaf matches the record view (the same rules as [`Pattern::matches`]).
    pub(crate) fn holds<'v>(&self, view: impl Json<'v>) -> bool {
        eval::matches_root(std::slice::from_ref(&self.root), view)
    }
}

/// A pattern's leaves, and when they decide it.
#[derive(Debug, Clone)]
pub(crate) struct Leaves {
    /// Every leaf of the conjunction: all hold when the pattern matches.
    pub(crate) leaves: Vec<Leaf>,
    /// When the pattern is one conjunction: the member paths (from the record view) of the
    /// objects that contain two or more of its leaves. If none of them is (or passes through)
    /// an array, the leaves all holding means the pattern matches. `None`: it must be evaluated.
    pub(crate) shared: Option<Vec<Vec<String>>>,
}

impl Pattern {
    /// The pattern's leaves (see [`Leaves`]); `None` when it has root alternatives.
    pub(crate) fn leaves(&self) -> Option<Leaves> {
        let [root] = self.roots.as_slice() else {
            return None;
        };
        let mut out = Leaves {
            leaves: Vec::new(),
            shared: Some(Vec::new()),
        };
        let mut chain = Vec::new();
        let mut path = Vec::new();
        collect(root, &mut chain, &mut path, &mut out);
        Some(out)
    }
}

/// Pushes the leaves below `node` and returns how many there are.
fn collect<'p>(
    node: &'p Node,
    chain: &mut Vec<&'p Field>,
    path: &mut Vec<String>,
    out: &mut Leaves,
) -> usize {
    if !node.ors.is_empty() {
        out.shared = None;
    }
    let mut count = 0;
    for field in &node.fields {
        if field.dotted {
            out.shared = None;
        }
        chain.push(field);
        path.push(field.name.clone());
        match (&field.leaf, field.objects.as_slice()) {
            (Some(_), []) => {
                out.leaves.push(leaf_of(chain));
                count += 1;
            }
            (None, [object]) => {
                let below = collect(object, chain, path, out);
                if below >= 2
                    && let Some(shared) = &mut out.shared
                {
                    shared.push(path.clone());
                }
                count += below;
            }
            // Alternative objects, or a leaf and objects that must hold on one element.
            _ => out.shared = None,
        }
        path.pop();
        chain.pop();
    }
    count
}

/// The single-field chain from the root to the last field of `chain`.
fn leaf_of(chain: &[&Field]) -> Leaf {
    let mut node: Option<Node> = None;
    for field in chain.iter().rev() {
        let mut field = (*field).clone();
        field.path = String::new();
        field.rank = 0;
        if let Some(inner) = node.take() {
            field.leaf = None;
            field.objects = vec![inner];
        }
        node = Some(Node {
            fields: vec![field],
            ors: Vec::new(),
        });
    }
    let root = node.unwrap_or(Node {
        fields: Vec::new(),
        ors: Vec::new(),
    });
    let key = key_of(chain);
    Leaf { root, key }
}

/// What a leaf at the end of `chain` tests, as bytes that two leaves share only if they test
/// the same: the chain's member names (and whether each is dotted), then the last field's
/// `exists: false` keys and conditions, each length-prefixed after a tag. The common
/// conditions are written out; the rare ones as their debug text (numbers too, so `1` and
/// `1.0` get two keys: only less sharing). Cheaper than the debug text of the whole chain,
/// which was most of building a table.
fn key_of(chain: &[&Field]) -> Box<[u8]> {
    let mut key = Vec::with_capacity(64);
    for field in chain {
        push_str(&mut key, &field.name);
        key.push(u8::from(field.dotted));
    }
    if let Some(last) = chain.last() {
        key.extend_from_slice(&(last.keys.len() as u32).to_le_bytes());
        for name in last.keys.iter() {
            push_str(&mut key, name);
        }
        for cond in last.leaf.iter().flat_map(|conds| conds.iter()) {
            push_cond(&mut key, cond);
        }
    }
    key.into()
}

fn push_str(key: &mut Vec<u8>, text: &str) {
    key.extend_from_slice(&(text.len() as u32).to_le_bytes());
    key.extend_from_slice(text.as_bytes());
}

fn push_cond(key: &mut Vec<u8>, cond: &Cond) {
    match cond {
        Cond::Equals(Literal::Str(s)) => {
            key.push(0);
            push_str(key, s);
        }
        Cond::Equals(Literal::Bool(b)) => key.extend([1, u8::from(*b)]),
        Cond::Equals(Literal::Null) => key.push(2),
        Cond::Prefix(s) => {
            key.push(3);
            push_str(key, s);
        }
        Cond::Suffix(s) => {
            key.push(4);
            push_str(key, s);
        }
        Cond::EqualsIgnoreCase(folded) => {
            key.push(5);
            push_str(key, folded.as_str());
        }
        Cond::Wildcard(glob) => {
            key.push(6);
            key.extend_from_slice(&(glob.pieces().len() as u32).to_le_bytes());
            glob.pieces().iter().for_each(|piece| push_str(key, piece));
        }
        Cond::Numeric(range) => {
            key.push(7);
            for bound in [range.lower, range.upper] {
                match bound {
                    Some(b) => {
                        key.push(1 + u8::from(b.inclusive));
                        key.extend_from_slice(&b.value.to_bits().to_le_bytes());
                    }
                    None => key.push(0),
                }
            }
        }
        Cond::Exists => key.push(8),
        Cond::Absent => key.push(9),
        other => {
            key.push(255);
            push_str(key, &format!("{other:?}"));
        }
    }
}
