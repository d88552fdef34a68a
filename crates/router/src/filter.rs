//! Filters: EventBridge patterns and JSONPath filter expressions.

use std::fmt;

use crate::jsonpath::JsonPathFilter;
use crate::pattern::Pattern;
use crate::record::RecordView;

/// A compiled filter of a route.
#[derive(Debug, Clone)]
pub enum Filter {
    /// An EventBridge event pattern matched against the record view.
    Pattern {
        /// The compiled pattern.
        pattern: Pattern,
        /// The pattern as compact JSON text.
        text: String,
    },
    /// An RFC 9535 filter expression with the record view as `@` and `$`.
    JsonPath(JsonPathFilter),
}

impl Filter {
    /// Does the record pass this filter?
    pub fn matches(&self, record: &RecordView) -> bool {
        match self {
            Filter::Pattern { pattern, .. } => pattern.matches(record.view()),
            Filter::JsonPath(f) => f.matches(record),
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Filter::Pattern { text, .. } => write!(f, "pattern {text}"),
            Filter::JsonPath(j) => write!(f, "jsonpath {}", j.source()),
        }
    }
}
