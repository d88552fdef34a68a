//! Amazon EventBridge-style event patterns.
//!
//! An event pattern is a JSON object that mirrors the shape of the events it
//! selects. Every leaf is an array of allowed values; a field matches when the
//! event value satisfies *any* element of its array, and the pattern matches
//! when *all* of its fields match:
//!
//! ```json
//! {
//!   "topic": ["orders"],
//!   "value": {
//!     "amount": [{ "numeric": [">", 100] }],
//!     "currency": ["EUR", "USD"],
//!     "$or": [
//!       { "country": [{ "anything-but": "FR" }] },
//!       { "priority": [{ "exists": true }] }
//!     ]
//!   }
//! }
//! ```
//!
//! # How it works
//!
//! [`Pattern::new`] validates the whole pattern and reports every problem it
//! finds, each with the JSON path of the offending part and what is allowed
//! there. It then compiles the pattern into an immutable tree: exact values,
//! `prefix`, `suffix`, `equals-ignore-case`, `wildcard`, `anything-but`,
//! `numeric`, `cidr` and `exists` conditions at the leaves, nested objects
//! above them, and `$or` groups wherever they appear.
//!
//! A `$or` whose branches name the same fields as their siblings is merged
//! into those siblings when compiling (the alternatives are spelled out), so
//! that matching never combines values taken from different elements of the
//! same event array; a branch's allowed values for a field its siblings
//! constrain replace theirs in that alternative. Independent `$or` groups stay
//! as they are.
//!
//! [`Pattern::matches`] walks the event once along the compiled tree without
//! allocating. When the event holds an array where the pattern expects a
//! value, the field matches if any element matches; when it holds an array of
//! objects where the pattern expects an object, the nested pattern must match
//! within one single element. A field name with dots is a path.
//!
//! # Semantics: EventBridge's engine
//!
//! Where EventBridge's documentation is silent, fanout does what
//! aws/event-ruler (the engine EventBridge runs) does. Each rule has a table
//! test named after it in `tests/`:
//!
//! - `exists: false` holds when the field has no value anywhere in the event,
//!   in any element of any array (`arrays::exists_false_in_arrays`).
//! - `anything-but` excludes only values of its own kind: any other string,
//!   number, boolean or null matches (`operators::anything_but_across_types`).
//! - `cidr` with host bits set (`10.0.0.5/24`) matches its network
//!   (`operators::cidr`); [`Pattern::warnings`] names it.
//! - A `$or` branch may constrain a field its siblings constrain: the branch's
//!   values replace theirs in that alternative
//!   (`structure::or_on_an_outer_field`).
//! - A dotted name (`properties.foo`) matches every member path that spells
//!   it: `properties` → `foo`, or a member named `properties.foo`
//!   (`structure::dotted_names`).
//! - `{}` is rejected at every level ("Empty objects are not allowed").
//!
//! # Remaining choices and differences
//!
//! Where event-ruler and the docs are both silent, or where fanout differs:
//!
//! - `exists: true` matches any leaf value, `null` included, but not an object
//!   or an empty array; `exists: false` treats both as absent
//!   (`operators::exists`).
//! - `anything-but` never matches a missing field or an object
//!   (`operators::anything_but`, `operators::anything_but_across_types`).
//! - `numeric` operands (and `anything-but` numbers) must lie within
//!   -5e9..=5e9 with at most 6 decimal places, as documented; event values are
//!   compared by value at full `f64` precision (`operators::numeric`).
//! - A two-sided numeric range needs lower < upper (`invalid::numeric`).
//! - `cidr` accepts prefix lengths up to /32 and /128 (`invalid::cidr_and_exists`).
//! - Difference: event-ruler visits a pattern's fields in the order of their
//!   names and judges `exists: false` only among the array elements that the
//!   fields named before it left possible; fanout judges it in the whole event
//!   whatever the names (`arrays::exists_false_in_arrays`, "(difference)").
//! - Difference: when one field gets allowed values twice (in `$or` and
//!   outside it), event-ruler keeps those written last; patterns reach fanout
//!   without key order, so fanout keeps the `$or` branch's, as if every `$or`
//!   were written after its object's other fields
//!   (`structure::or_on_an_outer_field`).
//! - Difference: a nested pattern `{"a": {"b": ...}}` does not match a member
//!   literally named `a.b`; only a pattern name with the dots does
//!   (`structure::nesting`, "(difference)"). A dotted name and a nested object
//!   on the same path (`"a.b"` beside `"a": {...}`) are separate fields whose
//!   values may come from different elements of an array at `a`.

mod anchors;
mod compile;
mod eval;
pub(crate) mod leaves;
mod normalize;
mod numeric;
mod operators;
mod path;
mod strings;

#[cfg(test)]
mod tests;

use std::fmt;

use serde_json::Value;

use self::compile::Node;
use crate::json::Json;

/// A compiled EventBridge event pattern.
///
/// Immutable once built; cheap to share between threads (`Send + Sync`).
/// Build it with [`Pattern::new`] or [`Pattern::from_json_str`], then call
/// [`Pattern::matches`] for each event.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// Alternatives at the root: the event matches if any of them matches.
    /// There is more than one only when a top-level `$or` had to be merged.
    roots: Vec<Node>,
    /// Every leaf path, without duplicates (see [`Pattern::field_paths`]), each of exactly its
    /// size: a pattern lives as long as its route table.
    paths: Box<[Box<[Box<str>]>]>,
    /// Parts accepted as written but better written otherwise.
    warnings: Vec<PatternProblem>,
}

impl Pattern {
    /// Compiles a pattern from a JSON value.
    ///
    /// Validates the whole pattern first and reports every problem found, not
    /// just the first one.
    pub fn new(pattern: &Value) -> Result<Pattern, PatternError> {
        let compiled = compile::compile(pattern).map_err(PatternError::from_problems)?;
        let roots =
            normalize::normalize_root(compiled.root).map_err(PatternError::from_problems)?;
        let mut paths: Vec<Vec<String>> = Vec::new();
        for path in compiled.paths {
            let spelled = path::spellings(&path).unwrap_or_else(|| {
                // Too many spellings: read all of the object that holds the first dotted name.
                let first = path.iter().position(|k| k.contains('.')).unwrap_or(0);
                vec![path[..first].to_vec()]
            });
            for path in spelled {
                if !paths.contains(&path) {
                    paths.push(path);
                }
            }
        }
        let paths = paths
            .iter()
            .map(|path| path.iter().map(|name| name.as_str().into()).collect())
            .collect();
        Ok(Pattern {
            roots,
            paths,
            warnings: compiled.warnings,
        })
    }

    /// Parses JSON text, then compiles it like [`Pattern::new`].
    ///
    /// A JSON syntax error is reported as a single problem at `$` whose
    /// message names the line and column.
    pub fn from_json_str(text: &str) -> Result<Pattern, PatternError> {
        match serde_json::from_str::<Value>(text) {
            Ok(value) => Pattern::new(&value),
            Err(err) => Err(PatternError::from_problems(vec![PatternProblem {
                path: path::ROOT.to_owned(),
                message: json_syntax_message(&err),
            }])),
        }
    }

    /// Returns whether the event matches the pattern.
    ///
    /// Pure and allocation-free.
    pub fn matches(&self, event: &Value) -> bool {
        self.matches_json(event)
    }

    /// [`Pattern::matches`] on any document [`Json`] reads.
    pub(crate) fn matches_json<'v>(&self, event: impl Json<'v>) -> bool {
        eval::matches_root(&self.roots, event)
    }

    /// Returns the field paths this pattern reads, such as
    /// `["value", "amount"]`: every leaf path, those under `$or` included,
    /// each once. A name with dots is read at every member path that spells
    /// it (`"a.b"`: `["a.b"]` and `["a", "b"]`); past 256 such paths, the whole
    /// object holding the first dotted name is read.
    pub fn field_paths(&self) -> Vec<Vec<String>> {
        let owned = |path: &[Box<str>]| path.iter().map(|name| name.to_string()).collect();
        self.paths.iter().map(|path| owned(path)).collect()
    }
}

impl Pattern {
    /// Parts of the pattern that are accepted and matched as EventBridge matches them, but are
    /// better written otherwise: a `cidr` whose address has host bits set (`10.0.0.5/24`
    /// matches the network `10.0.0.0/24`). Each names where it is and the suggested form.
    pub fn warnings(&self) -> &[PatternProblem] {
        &self.warnings
    }
}

/// Every problem found in one pattern.
///
/// Displays one problem per line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", render_problems(.problems))]
pub struct PatternError {
    /// The problems, in the order they were found (never empty).
    pub problems: Vec<PatternProblem>,
}

impl PatternError {
    fn from_problems(problems: Vec<PatternProblem>) -> PatternError {
        PatternError { problems }
    }
}

/// One problem in a pattern: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct PatternProblem {
    /// JSON path of the offending part, like `$.value.amount[0].numeric[1]`.
    /// Names that are not plain identifiers use brackets: `$['detail-type']`.
    pub path: String,
    /// What is wrong, and what is allowed there.
    pub message: String,
}

impl fmt::Display for PatternProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at {}: {}", self.path, self.message)
    }
}

fn render_problems(problems: &[PatternProblem]) -> String {
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

/// Builds the message for a JSON syntax error, naming line and column once.
fn json_syntax_message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    let suffix = format!(" at line {} column {}", err.line(), err.column());
    let reason = full.strip_suffix(&suffix).unwrap_or(&full);
    format!(
        "pattern is not valid JSON: {reason} (line {}, column {})",
        err.line(),
        err.column()
    )
}
