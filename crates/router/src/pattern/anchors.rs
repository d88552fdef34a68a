//! Anchors of a pattern: necessary conditions the route index can look up (see
//! [`crate::matcher`]).
//!
//! Every field of a [`Node`] must match, so each field's leaf is a necessary condition of the
//! node. A leaf made only of exact values, `prefix`, `suffix`, `numeric`, IPv4 `cidr` (of 8
//! bits or more), `equals-ignore-case` and `wildcard` conditions (but a wildcard starting and
//! ending with `*`) holds only if some scalar at the field's path equals one of the values (or
//! one of the folded values, folded itself), starts with one of the prefixes (a network's
//! leading octets, for `cidr`; a wildcard's literal head), ends with one of the suffixes (a
//! wildcard's literal tail when it has no head) or lies in one of the ranges (see `eval.rs`: leaf
//! conditions look through arrays, nested objects are found looking through arrays too, and a
//! missing object fails any field with such a leaf). The conditions of a single nested object
//! are necessary too. A `$or` group, a field with several alternative objects, or a pattern
//! spelled out into alternatives is necessary as the union of one anchor set per branch, when
//! every branch has one: the branch's cheapest. A field path with a dotted name is found at
//! every member path that spells it (see `eval.rs`), so its anchors are repeated on each.

use super::Pattern;
use super::compile::{Cond, Literal, Node};
use super::numeric::NumericRange;
use super::path;
use crate::matcher::anchor::{
    Anchor, AnchorTest, Cost, Range, ValueKey, cheaper, number_key, priced, union,
};

impl Pattern {
    /// The cheapest set of anchors such that, whenever the pattern matches a record view, at
    /// least one of them holds; `None` when some alternative of the pattern has no anchor (the
    /// pattern must then be evaluated for every record).
    pub(crate) fn anchors(&self, cost: Cost<'_>) -> Option<Vec<Anchor>> {
        let mut path = Vec::new();
        let (_, anchors) = union(self.roots.iter().map(|r| best(r, &mut path, cost)))?;
        (!anchors.is_empty()).then_some(anchors)
    }

    /// Independent necessary conditions, each priced: whenever the pattern matches, every one
    /// of these sets has an anchor that holds. Empty when there is none.
    pub(crate) fn anchor_conjuncts(&self, cost: Cost<'_>) -> Vec<(u64, Vec<Anchor>)> {
        let mut path = Vec::new();
        let mut out = Vec::new();
        match self.roots.as_slice() {
            [root] => conjuncts(root, &mut path, cost, &mut out),
            roots => out.extend(union(roots.iter().map(|r| best(r, &mut path, cost)))),
        }
        out.retain(|(_, set)| !set.is_empty());
        out
    }

    /// Calls `visit` with every anchor some leaf of the pattern could give (used to count how
    /// many filters share an anchor, which prices it).
    pub(crate) fn anchor_candidates(&self, visit: &mut dyn FnMut(Anchor)) {
        let mut path = Vec::new();
        for root in &self.roots {
            candidates(root, &mut path, visit);
        }
    }
}

/// The cheapest anchor set of one object level.
fn best(node: &Node, path: &mut Vec<String>, cost: Cost<'_>) -> Option<(u64, Vec<Anchor>)> {
    let mut found = Vec::new();
    conjuncts(node, path, cost, &mut found);
    found
        .into_iter()
        .filter(|(_, set)| !set.is_empty())
        .fold(None, |best, c| cheaper(best, Some(c)))
}

/// Pushes the necessary conditions of one object level: each field's leaf, the conditions of
/// its nested object (several alternative objects count as one, their union), and each `$or`.
fn conjuncts(
    node: &Node,
    path: &mut Vec<String>,
    cost: Cost<'_>,
    out: &mut Vec<(u64, Vec<Anchor>)>,
) {
    for field in &node.fields {
        path.push(field.name.clone());
        if let Some(anchors) = field.leaf.as_deref().and_then(|l| leaf_anchors(l, path)) {
            out.push(priced(cost, anchors));
        }
        match field.objects.as_slice() {
            [] => {}
            // One nested object must match as a whole: each of its conditions is necessary.
            [object] => conjuncts(object, path, cost, out),
            objects => out.extend(union(objects.iter().map(|o| best(o, path, cost)))),
        }
        path.pop();
    }
    for group in &node.ors {
        out.extend(union(group.branches.iter().map(|b| best(b, path, cost))));
    }
}

fn candidates(node: &Node, path: &mut Vec<String>, visit: &mut dyn FnMut(Anchor)) {
    for field in &node.fields {
        path.push(field.name.clone());
        let spelled = path::spellings(path).unwrap_or_default();
        for cond in field.leaf.iter().flatten() {
            if let Some(test) = cond_test(cond) {
                for path in &spelled {
                    visit(Anchor {
                        path: path.clone(),
                        test: test.clone(),
                    });
                }
            }
        }
        for object in &field.objects {
            candidates(object, path, visit);
        }
        path.pop();
    }
    for group in &node.ors {
        for branch in &group.branches {
            candidates(branch, path, visit);
        }
    }
}

/// One anchor per condition and member path that spells the field's path (several when a
/// name has dots: see [`path::spellings`]), when every condition of the leaf can be one.
fn leaf_anchors(conds: &[Cond], path: &[String]) -> Option<Vec<Anchor>> {
    if conds.is_empty() {
        return None;
    }
    let tests: Vec<AnchorTest> = conds.iter().map(cond_test).collect::<Option<_>>()?;
    let spelled = path::spellings(path)?;
    let mut anchors = Vec::with_capacity(tests.len() * spelled.len());
    for test in tests {
        for path in &spelled {
            anchors.push(Anchor {
                path: path.clone(),
                test: test.clone(),
            });
        }
    }
    Some(anchors)
}

fn cond_test(cond: &Cond) -> Option<AnchorTest> {
    match cond {
        Cond::Equals(literal) => Some(AnchorTest::Exact(match literal {
            Literal::Str(s) => ValueKey::Str(s.clone()),
            Literal::Num(n) => ValueKey::Num(number_key(n)?),
            Literal::Bool(b) => ValueKey::Bool(*b),
            Literal::Null => ValueKey::Null,
        })),
        Cond::Prefix(prefix) => Some(AnchorTest::Prefix(prefix.clone())),
        Cond::Suffix(suffix) => Some(AnchorTest::Suffix(suffix.clone())),
        Cond::Numeric(range) => Some(AnchorTest::Range(range_of(range))),
        Cond::Cidr(cidr) => cidr.text_prefix().map(AnchorTest::Prefix),
        Cond::EqualsIgnoreCase(folded) => Some(AnchorTest::Folded(folded.as_str().to_owned())),
        Cond::Wildcard(glob) => wildcard_test(glob.pieces()),
        _ => None,
    }
}

/// A wildcard without stars is its one value; otherwise its literal head is a prefix every
/// match starts with, or (with no head) its literal tail a suffix every match ends with. A glob
/// that starts and ends with a star gives nothing.
fn wildcard_test(pieces: &[String]) -> Option<AnchorTest> {
    match pieces {
        [only] => Some(AnchorTest::Exact(ValueKey::Str(only.clone()))),
        [head, ..] if !head.is_empty() => Some(AnchorTest::Prefix(head.clone())),
        [.., tail] if !tail.is_empty() => Some(AnchorTest::Suffix(tail.clone())),
        _ => None,
    }
}

fn range_of(range: &NumericRange) -> Range {
    Range {
        lower: range.lower.map(|b| (b.value, b.inclusive)),
        upper: range.upper.map(|b| (b.value, b.inclusive)),
    }
}
