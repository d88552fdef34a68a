//! Merging `$or` branches into their siblings where matching needs it.
//!
//! A `$or` branch that names the same field as a sibling (or as a branch of
//! another `$or` on the same object) may reach into the same event array.
//! EventBridge never lets one match combine values from different elements
//! of one array, so such a group is spelled out: the object is replaced by
//! one alternative per branch, each with that branch's fields merged in.
//! Groups whose field names are disjoint from everything else on their
//! object read disjoint parts of the event and are left as they are, which
//! keeps the compiled pattern small. A branch that gives a field allowed
//! values its siblings already give replaces them in that alternative, as
//! aws/event-ruler's expansion does.

use std::mem;

use super::PatternProblem;
use super::compile::{self, Field, Node};

/// Most alternatives that merging `$or` branches may create in one pattern.
pub(crate) const MAX_ALTERNATIVES: usize = 1000;

/// Normalizes a compiled root into its alternatives.
pub(crate) fn normalize_root(root: Node) -> Result<Vec<Node>, Vec<PatternProblem>> {
    let mut normalizer = Normalizer {
        created: 0,
        exhausted: false,
        problems: Vec::new(),
    };
    let mut alternatives = normalizer.node(root);
    if normalizer.problems.is_empty() {
        compile::exact(&mut alternatives);
        alternatives.iter_mut().for_each(Node::compact);
        Ok(alternatives)
    } else {
        Err(normalizer.problems)
    }
}

struct Normalizer {
    created: usize,
    exhausted: bool,
    problems: Vec<PatternProblem>,
}

impl Normalizer {
    /// Returns the alternatives equivalent to `node`, none of which has a
    /// dependent `$or` group at any level.
    fn node(&mut self, node: Node) -> Vec<Node> {
        let mut pending = vec![node];
        let mut done = Vec::new();
        while let Some(mut current) = pending.pop() {
            if self.exhausted {
                return Vec::new();
            }
            let Some(index) = dependent_group(&current) else {
                done.push(self.finish(current));
                continue;
            };
            let group = current.ors.remove(index);
            let mut merged = Vec::with_capacity(group.branches.len());
            for branch in group.branches {
                if !self.spend(&group.path) {
                    return Vec::new();
                }
                merged.extend(self.merge(current.clone(), branch));
            }
            // Reversed so that the stack yields them in branch order.
            pending.extend(merged.into_iter().rev());
        }
        done
    }

    /// Normalizes the nested objects and independent groups of a node whose
    /// own level needs no more merging.
    fn finish(&mut self, mut node: Node) -> Node {
        for field in &mut node.fields {
            for object in mem::take(&mut field.objects) {
                let alternatives = self.node(object);
                field.objects.extend(alternatives);
            }
        }
        for group in &mut node.ors {
            for branch in mem::take(&mut group.branches) {
                let alternatives = self.node(branch);
                group.branches.extend(alternatives);
            }
        }
        node
    }

    fn spend(&mut self, at: &str) -> bool {
        self.created += 1;
        if self.created > MAX_ALTERNATIVES {
            self.exhausted = true;
            self.report(
                at,
                format!(
                    "this `$or` shares field names with its siblings, and merging it makes more than {MAX_ALTERNATIVES} combinations; simplify the pattern or split it into several routes"
                ),
            );
            return false;
        }
        true
    }

    fn report(&mut self, at: &str, message: String) {
        let problem = PatternProblem {
            path: at.to_owned(),
            message,
        };
        if !self.problems.contains(&problem) {
            self.problems.push(problem);
        }
    }

    /// Merges the fields and groups of `from` into `into`; `None` if they
    /// conflict (reported).
    fn merge(&mut self, mut into: Node, from: Node) -> Option<Node> {
        let mut ok = true;
        for field in from.fields {
            match into.fields.iter_mut().find(|f| f.name == field.name) {
                Some(existing) => ok &= self.merge_field(existing, field),
                None => into.fields.push(field),
            }
        }
        into.ors.extend(from.ors);
        ok.then_some(into)
    }

    /// Merges a field into the field of the same name. Two leaves do not combine: as in
    /// aws/event-ruler, where each spelled-out alternative holds one list of allowed values
    /// per field, one replaces the other (the one of greater [`Field::rank`]: the `$or`
    /// branch's over its siblings').
    fn merge_field(&mut self, into: &mut Field, from: Field) -> bool {
        if from.leaf.is_some() && (into.leaf.is_none() || from.rank > into.rank) {
            into.leaf = from.leaf;
            into.keys = from.keys;
            into.rank = from.rank;
        }
        if into.objects.is_empty() {
            into.objects = from.objects;
        } else if !from.objects.is_empty() {
            let mut merged = Vec::with_capacity(into.objects.len() * from.objects.len());
            for left in &into.objects {
                for right in &from.objects {
                    match self.merge(left.clone(), right.clone()) {
                        Some(node) => merged.push(node),
                        None => return false,
                    }
                }
            }
            into.objects = merged;
        }
        true
    }
}

/// The index of a `$or` group on this object whose branches name a field
/// that a sibling field or another group on the same object also names.
fn dependent_group(node: &Node) -> Option<usize> {
    let names: Vec<Vec<&str>> = node
        .ors
        .iter()
        .map(|group| {
            let mut names = Vec::new();
            for branch in &group.branches {
                level_names(branch, &mut names);
            }
            names
        })
        .collect();
    (0..names.len()).find(|&i| {
        names[i].iter().any(|name| {
            node.fields.iter().any(|f| f.name == *name)
                || names
                    .iter()
                    .enumerate()
                    .any(|(j, other)| j != i && other.contains(name))
        })
    })
}

/// Field names a node reads on its own event object, through nested `$or`
/// groups too (a `$or` adds no level).
fn level_names<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
    out.extend(node.fields.iter().map(|f| f.name.as_str()));
    for group in &node.ors {
        for branch in &group.branches {
            level_names(branch, out);
        }
    }
}
