//! RFC 9535 JSONPath filters and queries.
//!
//! A route's `jsonpath` filter is a *filter expression*: the grammar inside `[? ]`, evaluated
//! with the record view as the current node `@`. The root `$` is the record view too, so
//! `@.value.amount > 100` and `$.value.amount > 100` mean the same. Parsing and evaluation are
//! done by `serde_json_path`, which passes the whole RFC 9535 compliance suite.
//!
//! How: the expression `E` is compiled as the query `$[?E']` and run on `[view]` (the
//! one-element array a [`RecordView`] already holds), where `E'` is `E` with every root
//! identifier `$` written as `$[0]`. The record matches when the query selects the view.

use serde_json::Value;
use serde_json_path::JsonPath;

use crate::matcher::anchor::{Anchor, Cost};
use crate::matcher::jsonpath_anchor::anchor_options;
use crate::record::RecordView;

/// A JSONPath expression could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid JSONPath at character {column}: {message}\n  {expression}\n  {marker:>width$}", marker = "^", width = .column)]
pub struct JsonPathError {
    /// The expression as written.
    pub expression: String,
    /// 1-based character position of the error within the expression.
    pub column: usize,
    /// The parser's description of what it expected.
    pub message: String,
}

/// A compiled RFC 9535 filter expression, evaluated against a record view.
#[derive(Debug, Clone)]
pub struct JsonPathFilter {
    source: String,
    query: JsonPath,
}

const PREFIX: &str = "$[?";
const ROOT_INDEX: &str = "[0]";

impl JsonPathFilter {
    /// Compiles a filter expression such as `@.value.amount > 100 && @.key == 'k1'`.
    pub fn new(expression: &str) -> Result<JsonPathFilter, JsonPathError> {
        let (rewritten, inserted_at) = rewrite_root(expression);
        let full = format!("{PREFIX}{rewritten}]");
        match JsonPath::parse(&full) {
            Ok(query) => Ok(JsonPathFilter {
                source: expression.to_owned(),
                query,
            }),
            Err(err) => {
                let at = err.position().saturating_sub(PREFIX.len());
                let shift = inserted_at.iter().filter(|&&i| i < at).count() * ROOT_INDEX.len();
                let byte = at.saturating_sub(shift).min(expression.len());
                Err(JsonPathError {
                    expression: expression.to_owned(),
                    column: char_column(expression, byte),
                    message: err.message().to_owned(),
                })
            }
        }
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Does the filter hold for this record?
    pub fn matches(&self, record: &RecordView) -> bool {
        !self.query.query(record.wrapped()).is_empty()
    }

    /// The cheapest anchor among the expression's top-level conjuncts (see
    /// [`crate::matcher::jsonpath_anchor`]): a necessary condition of the filter that the route
    /// index can look up; `None` when no conjunct gives one.
    pub(crate) fn anchors(&self, cost: Cost<'_>) -> Option<Vec<Anchor>> {
        self.anchor_conjuncts(cost)
            .into_iter()
            .min_by_key(|(c, _)| *c)
            .map(|(_, set)| set)
    }

    /// Every anchor the expression's top-level conjuncts give, each a necessary condition on
    /// its own, priced.
    pub(crate) fn anchor_conjuncts(&self, cost: Cost<'_>) -> Vec<(u64, Vec<Anchor>)> {
        anchor_options(&self.source)
            .into_iter()
            .map(|a| (cost(&a), vec![a]))
            .collect()
    }

    /// The field paths the expression can read (whole subtrees at each); `None` when they
    /// cannot be told from the text.
    pub(crate) fn read_prefixes(&self) -> Option<Vec<Vec<String>>> {
        crate::matcher::jsonpath_anchor::read_prefixes(&self.source)
    }

    /// Every anchor the expression's top-level conjuncts give.
    pub(crate) fn anchor_candidates(&self) -> Vec<Anchor> {
        anchor_options(&self.source)
    }
}

/// Runs a full RFC 9535 query and returns its nodelist as a JSON array.
pub fn query(path: &str, document: &Value) -> Result<Value, JsonPathError> {
    let query = JsonPath::parse(path).map_err(|err| JsonPathError {
        expression: path.to_owned(),
        column: char_column(path, err.position().min(path.len())),
        message: err.message().to_owned(),
    })?;
    Ok(Value::Array(
        query.query(document).all().into_iter().cloned().collect(),
    ))
}

/// Rewrites each root identifier `$` (outside string literals) to `$[0]`; returns the new text
/// and the byte positions (in the new text) where `[0]` was inserted.
fn rewrite_root(expression: &str) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(expression.len() + 8);
    let mut inserted = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in expression.chars() {
        out.push(c);
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '$' => {
                inserted.push(out.len());
                out.push_str(ROOT_INDEX);
            }
            None => {}
        }
    }
    (out, inserted)
}

/// 1-based character column of a byte offset (clamped to a char boundary).
fn char_column(text: &str, byte: usize) -> usize {
    let mut byte = byte.min(text.len());
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    text[..byte].chars().count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> RecordView {
        RecordView::from_view(json!({
            "topic": "orders", "partition": 0, "offset": 5, "key": "k1",
            "headers": {"source": "web"},
            "value": {"amount": 120, "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}],
                      "email": "ann@example.com", "tags": ["x", "y"]}
        }))
    }

    fn holds(expression: &str) -> bool {
        JsonPathFilter::new(expression)
            .unwrap_or_else(|e| panic!("{expression}: {e}"))
            .matches(&record())
    }

    #[test]
    fn comparisons_and_logic() {
        assert!(holds("@.value.amount > 100"));
        assert!(!holds("@.value.amount > 200"));
        assert!(holds("@.value.amount > 100 && @.key == 'k1'"));
        assert!(!holds("@.value.amount > 100 && @.key == 'k2'"));
        assert!(holds("@.value.amount > 200 || @.headers.source == 'web'"));
        assert!(holds("!(@.value.amount > 200)"));
    }

    #[test]
    fn existence_and_nested_filters() {
        assert!(holds("@.value.email"));
        assert!(!holds("@.value.missing"));
        assert!(holds("@.value.items[?@.sku == 'A-1']"));
        assert!(!holds("@.value.items[?@.sku == 'Z-9']"));
        assert!(holds(
            "@.value.amount > 100 && @.value.items[?@.sku == 'A-1']"
        ));
    }

    #[test]
    fn functions() {
        assert!(holds("length(@.value.items) == 2"));
        assert!(holds("count(@.value.items[*]) == 2"));
        assert!(holds("match(@.value.email, '[a-z]+@example\\\\.com')"));
        assert!(holds("search(@.key, '1')"));
        assert!(holds("value(@.value.items[0].sku) == 'A-1'"));
        assert!(!holds("match(@.key, '1')"));
    }

    #[test]
    fn root_means_the_record_view_too() {
        assert!(holds("$.value.amount == 120"));
        assert!(holds("$.topic == 'orders' && @.offset == 5"));
        assert!(holds("length($.value.tags) == 2"));
        // `$` inside string literals is left alone.
        assert!(!holds("@.key == '$.key'"));
    }

    #[test]
    fn rewrite_skips_string_literals_and_escapes() {
        let (text, at) = rewrite_root(r#"$.a == '$\'$' && "$" == $.b"#);
        assert_eq!(text, r#"$[0].a == '$\'$' && "$" == $[0].b"#);
        assert_eq!(at, vec![1, 28]);
    }

    #[test]
    fn errors_give_the_position_in_the_expression() {
        let err = JsonPathFilter::new("@.value.amount >> 100").unwrap_err();
        assert_eq!(err.expression, "@.value.amount >> 100");
        assert!(err.column >= 16 && err.column <= 17, "{err:?}");
        let err = JsonPathFilter::new("$.value.x == 1 && @.a ==").unwrap_err();
        assert!(err.column > 18, "{err:?}");
        assert!(err.to_string().contains('^'));
    }

    #[test]
    fn non_singular_comparison_is_rejected() {
        assert!(JsonPathFilter::new("@.value.items[*].sku == 'A-1'").is_err());
    }

    #[test]
    fn full_queries_return_the_nodelist() {
        let doc = json!({"store": {"book": [{"price": 8}, {"price": 22}]}});
        assert_eq!(
            query("$.store.book[?@.price < 10]", &doc).unwrap(),
            json!([{"price": 8}])
        );
        assert_eq!(query("$..price", &doc).unwrap(), json!([8, 22]));
        assert!(query("$.store[", &doc).is_err());
    }
}
