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
use super::compile::{Field, Node};
use super::eval;
use crate::json::Json;

/// One leaf of a pattern as a pattern of its own.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    /// The chain of single-field objects from the root down to the leaf.
    root: Node,
    /// What the leaf tests, as text: equal keys, equal leaves.
    pub(crate) key: String,
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
    let key = format!("{:?}", root);
    Leaf { root, key }
}
