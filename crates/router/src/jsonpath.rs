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

use crate::json::Json;
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
    /// What the filter reads and its result when none of that is in the record.
    unread: Option<Unread>,
}

/// The member paths a filter expression reads, and its result on a record that has none of
/// them: every query of the expression starts with one of these paths (its longest run of
/// plain names), so where none exists every query selects nothing, as on an empty view.
#[derive(Debug, Clone)]
struct Unread {
    /// The paths in one string (a table holds one per JSONPath filter): names end with
    /// [`NAME_END`], paths with [`PATH_END`].
    paths: String,
    result: bool,
}

const NAME_END: char = '\u{0}';
const PATH_END: char = '\u{1}';

impl Unread {
    /// `None` when a path is the whole view (`@[*]`, `$..x`: something is always there to
    /// read) or a name holds one of the separators.
    fn new(mut paths: Vec<Vec<String>>, query: &JsonPath) -> Option<Unread> {
        if paths.iter().any(|p| p.is_empty())
            || paths
                .iter()
                .flatten()
                .any(|name| name.contains([NAME_END, PATH_END]))
        {
            return None;
        }
        // Where a path is absent so is every longer path under it: keep the shortest.
        paths.sort();
        paths.dedup_by(|longer, shorter| longer.starts_with(shorter));
        let mut joined = String::new();
        for path in &paths {
            for name in path {
                joined.push_str(name);
                joined.push(NAME_END);
            }
            joined.push(PATH_END);
        }
        joined.shrink_to_fit();
        let empty_view = Value::Array(vec![Value::Object(Default::default())]);
        Some(Unread {
            paths: joined,
            result: !query.query(&empty_view).is_empty(),
        })
    }

    /// Whether the document at `root` has none of the paths.
    fn none_in<'v>(&self, root: impl Json<'v>) -> bool {
        self.paths.split_terminator(PATH_END).all(|path| {
            let mut node = root;
            for name in path.split_terminator(NAME_END) {
                match node.get(name) {
                    Some(member) => node = member,
                    None => return true,
                }
            }
            false
        })
    }
}

const PREFIX: &str = "$[?";
const ROOT_INDEX: &str = "[0]";

impl JsonPathFilter {
    /// Compiles a filter expression such as `@.value.amount > 100 && @.key == 'k1'`.
    pub fn new(expression: &str) -> Result<JsonPathFilter, JsonPathError> {
        let (rewritten, inserted_at) = rewrite_root(expression);
        let full = format!("{PREFIX}{rewritten}]");
        match JsonPath::parse(&full) {
            Ok(query) => {
                let unread = crate::matcher::jsonpath_anchor::read_prefixes(expression)
                    .and_then(|paths| Unread::new(paths, &query));
                Ok(JsonPathFilter {
                    source: expression.to_owned(),
                    query,
                    unread,
                })
            }
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

    /// The filter's result on the record whose view `root` is, when that is known without
    /// running the query: when the record has none of the member paths the expression reads
    /// (then every query in it selects nothing). `None` when it has one of them, or when the
    /// paths cannot be told from the expression.
    pub(crate) fn result_without_reads<'v>(&self, root: impl Json<'v>) -> Option<bool> {
        let unread = self.unread.as_ref()?;
        unread.none_in(root).then_some(unread.result)
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

    /// Where a record has none of the paths an expression reads, its result is known without
    /// running it, and is the result of running it.
    #[test]
    fn results_without_reads_agree_with_running_the_filter() {
        let records = [
            json!({"topic": "t", "key": "k1", "value": {}}),
            json!({"topic": "t", "value": 7}),
            json!({"topic": "t", "value": {"items": [{"sku": "A-1"}]}}),
            json!({"topic": "t", "headers": {"source": "web"}, "value": {"amount": 120}}),
            json!({}),
        ];
        let expressions = [
            ("@.value.items[?@.sku == 'A-1']", Some(false)),
            ("!@.value.items", Some(true)),
            ("length(@.value.items) == 0", Some(false)),
            ("count(@.value.items[*]) == 0", Some(true)),
            (
                "@.value.amount > 100 || @.headers.source == 'web'",
                Some(false),
            ),
            ("!(@.value.amount > 100) && $.key != 'k2'", Some(true)),
            (
                "!@.value.items || @.value.items[0].sku == 'A-1'",
                Some(true),
            ),
            ("1 == 1", Some(true)),
            ("@..sku", None),
            ("@.*", None),
        ];
        for (expression, on_empty) in expressions {
            let filter = JsonPathFilter::new(expression).unwrap();
            assert_eq!(
                filter.result_without_reads(&json!({})),
                on_empty,
                "{expression}"
            );
            for record in &records {
                let view = RecordView::from_view(record.clone());
                if let Some(known) = filter.result_without_reads(view.view()) {
                    assert_eq!(known, filter.matches(&view), "{expression} on {record}");
                }
            }
        }
        let filter = JsonPathFilter::new("@.value.items[?@.sku == 'A-1']").unwrap();
        assert_eq!(filter.result_without_reads(record().view()), None);
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
