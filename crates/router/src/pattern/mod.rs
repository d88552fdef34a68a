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
//! same event array. Independent `$or` groups stay as they are.
//!
//! [`Pattern::matches`] walks the event once along the compiled tree without
//! allocating. When the event holds an array where the pattern expects a
//! value, the field matches if any element matches; when it holds an array of
//! objects where the pattern expects an object, the nested pattern must match
//! within one single element.
//!
//! # Choices where EventBridge's documentation is silent
//!
//! Each is pinned by a test named after the rule in `tests/`:
//!
//! - `{}` is rejected at every level, as aws/event-ruler does ("Empty objects
//!   are not allowed"); omit the filter to match every record.
//! - `exists: true` matches any leaf value, `null` included, but not an
//!   object or an empty array (EventBridge: exists works on leaf nodes only).
//! - `anything-but` never matches a missing field; a string form only
//!   matches string values and a numeric form only matches numbers.
//! - `numeric` operands (and `anything-but` numbers) must lie within
//!   -5e9..=5e9 with at most 6 decimal places, as documented. Event values
//!   are compared by value at full `f64` precision.
//! - A two-sided numeric range needs lower < upper.
//! - `cidr` accepts prefix lengths up to /32 and /128 and rejects addresses
//!   with host bits set (e.g. `10.0.0.5/24`), suggesting the network address.
//! - Inside an array element, `exists: false` is judged within the element
//!   that the rest of that object pattern matched.

mod anchors;
mod compile;
mod eval;
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
    /// Every leaf path, without duplicates.
    paths: Vec<Vec<String>>,
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
        self.paths.clone()
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
