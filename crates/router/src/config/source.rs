//! Reading a route file's text: YAML (or JSON) to a JSON value, with `${ENV}` substitution in
//! string values and the line/column of every node kept for error messages.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr::Scalar;
use saphyr_parser::{Event, Parser, ScanError, Span, StrInput};
use serde_json::{Map, Number, Value};

/// A problem found while reading a file's text, before any route is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Path of the node (e.g. `routes[0].topics[1]`), empty for the document.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Line and column of nodes, by path (`routes[0].topics[1]`); a mapping member's is its key's.
#[derive(Debug, Default)]
struct Positions(HashMap<String, (usize, usize)>);

/// Line and column of the node at `path`, or of its nearest ancestor that has one, looked up in
/// `maps` in turn at each step.
fn nearest(maps: &[&Positions], path: &str) -> (usize, usize) {
    let mut path = path;
    loop {
        if let Some(pos) = maps.iter().find_map(|m| m.0.get(path)) {
            return *pos;
        }
        match path.rfind(['.', '[']) {
            Some(cut) => path = &path[..cut],
            None => {
                return maps
                    .iter()
                    .find_map(|m| m.0.get("").copied())
                    .unwrap_or((1, 1));
            }
        }
    }
}

/// A parsed file: its JSON value and the position of every node by path.
#[derive(Debug, Default)]
pub struct Source {
    /// The document as JSON. From [`read_routes`], the items of the top-level `routes:` list are
    /// not in it (the list is empty): they were handed over one by one.
    pub value: Value,
    /// Problems that did not stop reading (bad `${ENV}` references, duplicate keys, ...).
    pub errors: Vec<SourceError>,
    positions: Positions,
}

impl Source {
    /// Line and column of the node at `path`, or of its nearest ancestor that has one.
    pub fn position(&self, path: &str) -> (usize, usize) {
        nearest(&[&self.positions], path)
    }
}

/// One item of a file's top-level `routes:` list, as [`read_routes`] hands it over.
#[derive(Debug)]
pub struct RouteSource<'a> {
    /// Its index in the list.
    pub index: usize,
    /// The route as JSON.
    pub value: Value,
    /// The problems found while reading it (also in the file's [`Source::errors`]).
    pub errors: &'a [SourceError],
    positions: &'a Positions,
    outer: &'a Positions,
}

impl RouteSource<'_> {
    /// Line and column of the node at `path` (a path in the file, e.g. `routes[3].topics`), or
    /// of its nearest ancestor that has one.
    pub fn position(&self, path: &str) -> (usize, usize) {
        nearest(&[self.positions, self.outer], path)
    }
}

/// Parses YAML/JSON text. `env` resolves `${NAME}` in string values (`${NAME:-default}` gives a
/// default, `$${` is a literal `${`). A syntax error stops reading; other problems are kept in
/// [`Source::errors`] with the rest of the document still read.
pub fn load_source(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Source, SourceError> {
    read(text, env, None)
}

/// Like [`load_source`], but each item of the top-level `routes:` list (when there is one and it
/// is a list) is given to `on_route` as soon as it is read, with the positions of its nodes, and
/// then dropped: a file is never held as a whole JSON value, nor every node's position.
///
/// Items come in order, `index` from 0; when the document has the key `routes` twice, a second
/// run of items starting at 0 follows (the document's value keeps the second list). Items read
/// before a syntax error have been handed over when the error is returned.
pub fn read_routes(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    on_route: &mut dyn FnMut(RouteSource<'_>),
) -> Result<Source, SourceError> {
    read(text, env, Some(on_route))
}

fn read<'a>(
    text: &str,
    env: &'a dyn Fn(&str) -> Option<String>,
    sink: Option<&'a mut dyn FnMut(RouteSource<'_>)>,
) -> Result<Source, SourceError> {
    // The scanner keeps every token from a possible simple key (a node that could still turn out
    // to be a mapping key) until it knows; a flow collection at the top level stays one until it
    // ends, so a JSON file would be held whole as tokens (~40× its size). Behind a document
    // marker (`--- {`) a node cannot be a key, so the tokens go out as they are read. The marker
    // shifts that line's columns by its width, which `shift` takes back.
    let lead = text.len() - text.trim_start().len();
    let flow_root =
        text[lead..].starts_with(['{', '[']) && (lead == 0 || text[..lead].ends_with('\n'));
    let (input, shift) = if flow_root {
        let line = text[..lead].matches('\n').count() + 1;
        (
            Cow::Owned(format!("{}{DOC_MARK}{}", &text[..lead], &text[lead..])),
            Some(line),
        )
    } else {
        (Cow::Borrowed(text), None)
    };
    let mut reader = Reader {
        parser: Parser::new_from_str(&input),
        env,
        positions: Positions::default(),
        errors: Vec::new(),
        sink,
        documents: 0,
        shift,
    };
    let value = reader.document().map_err(|e| {
        let (line, column) = reader.at(e.marker().line(), e.marker().col());
        SourceError {
            line,
            column,
            path: String::new(),
            message: format!("not valid YAML/JSON: {}", e.info()),
        }
    })?;
    Ok(Source {
        value,
        errors: reader.errors,
        positions: reader.positions,
    })
}

/// Put before a JSON text's first `{` or `[` (see [`read`]).
const DOC_MARK: &str = "--- ";

/// Builds the JSON value straight from the parser's events, so that every node keeps its
/// position and duplicate keys are seen (a YAML map would silently keep the last one).
struct Reader<'a, 'input> {
    parser: Parser<'input, StrInput<'input>>,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Where the nodes being read record their positions: the document's, or while an item of
    /// `routes:` is read for `sink`, that item's own.
    positions: Positions,
    errors: Vec<SourceError>,
    sink: Option<&'a mut dyn FnMut(RouteSource<'_>)>,
    documents: usize,
    /// The line that starts with [`DOC_MARK`], when one was put in.
    shift: Option<usize>,
}

type Spanned<'input> = (Event<'input>, Span);

impl<'input> Reader<'_, 'input> {
    fn next(&mut self) -> Result<Spanned<'input>, ScanError> {
        match self.parser.next_event() {
            Some(event) => event,
            None => Ok((Event::StreamEnd, Span::default())),
        }
    }

    /// 1-based line and column in the text as written, from the parser's line and 0-based
    /// column.
    fn at(&self, line: usize, col: usize) -> (usize, usize) {
        match self.shift {
            Some(shifted) if shifted == line && col >= DOC_MARK.len() => {
                (line, col - DOC_MARK.len() + 1)
            }
            _ => (line, col + 1),
        }
    }

    fn pos(&self, span: &Span) -> (usize, usize) {
        self.at(span.start.line(), span.start.col())
    }

    fn document(&mut self) -> Result<Value, ScanError> {
        let mut value = Value::Null;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamEnd => return Ok(value),
                Event::DocumentStart(_) => {
                    self.documents += 1;
                    if self.documents > 1 {
                        let at = self.pos(&span);
                        self.error(
                            "",
                            at,
                            "a route file holds one YAML document; found more".into(),
                        );
                    }
                    let (first, span) = self.next()?;
                    let node = self.node(first, span, &mut String::new())?;
                    if self.documents == 1 {
                        value = node;
                    }
                }
                _ => {}
            }
        }
    }

    fn node(
        &mut self,
        event: Event<'input>,
        span: Span,
        path: &mut String,
    ) -> Result<Value, ScanError> {
        let at = self.pos(&span);
        self.positions.0.entry(path.clone()).or_insert(at);
        Ok(match event {
            Event::Scalar(text, style, _, tag) => {
                match Scalar::parse_from_cow_and_metadata(text.clone(), style, tag.as_ref()) {
                    Some(Scalar::Null) => Value::Null,
                    Some(Scalar::Boolean(b)) => Value::Bool(b),
                    Some(Scalar::Integer(i)) => Value::Number(i.into()),
                    Some(Scalar::FloatingPoint(f)) => match Number::from_f64(f.into_inner()) {
                        Some(n) => Value::Number(n),
                        None => {
                            self.error(path, at, "numbers must be finite".into());
                            Value::Null
                        }
                    },
                    Some(Scalar::String(s)) => self.string(&s, path, at),
                    None => self.string(&text, path, at),
                }
            }
            Event::SequenceStart(..)
                if path == "routes" && self.documents == 1 && self.sink.is_some() =>
            {
                self.stream_routes(path)?;
                Value::Array(Vec::new())
            }
            Event::SequenceStart(..) => {
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    let len = path.len();
                    push_index(path, items.len());
                    items.push(self.node(event, span, path)?);
                    path.truncate(len);
                }
                Value::Array(items)
            }
            Event::MappingStart(..) => {
                let mut map = Map::new();
                loop {
                    let (event, key_span) = self.next()?;
                    let key_at = self.pos(&key_span);
                    let name = match event {
                        Event::MappingEnd => break,
                        Event::Scalar(text, ..) => text.into_owned(),
                        other => {
                            self.error(path, key_at, "mapping keys must be plain strings".into());
                            self.node(other, key_span, &mut String::from("#key"))?;
                            let (value, span) = self.next()?;
                            self.node(value, span, &mut String::from("#key"))?;
                            continue;
                        }
                    };
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&name);
                    // Errors about a field point at its key.
                    self.positions.0.insert(path.clone(), key_at);
                    if map.contains_key(&name) {
                        self.error(path, key_at, format!("duplicate key `{name}`"));
                    }
                    let (event, span) = self.next()?;
                    let value = self.node(event, span, path)?;
                    map.insert(name, value);
                    path.truncate(len);
                }
                Value::Object(map)
            }
            Event::Alias(_) => {
                self.error(
                    path,
                    at,
                    "YAML aliases (`*name`) are not supported; write the value out".into(),
                );
                Value::Null
            }
            other => {
                self.error(path, at, format!("unexpected YAML event {other:?}"));
                Value::Null
            }
        })
    }

    /// Reads the items of the top-level `routes:` list (at `path`) and hands each to the sink,
    /// with the positions and problems of its nodes.
    fn stream_routes(&mut self, path: &mut String) -> Result<(), ScanError> {
        let mut index = 0;
        loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::SequenceEnd) {
                return Ok(());
            }
            let len = path.len();
            push_index(path, index);
            let outer = std::mem::take(&mut self.positions);
            let first_error = self.errors.len();
            let read = self.node(event, span, path);
            let positions = std::mem::replace(&mut self.positions, outer);
            let value = read?;
            if let Some(sink) = self.sink.as_mut() {
                sink(RouteSource {
                    index,
                    value,
                    errors: &self.errors[first_error..],
                    positions: &positions,
                    outer: &self.positions,
                });
            }
            path.truncate(len);
            index += 1;
        }
    }

    fn string(&mut self, text: &str, path: &str, at: (usize, usize)) -> Value {
        match substitute(text, self.env) {
            Ok(s) => Value::String(s),
            Err(message) => {
                self.error(path, at, message);
                Value::String(text.to_owned())
            }
        }
    }

    fn error(&mut self, path: &str, (line, column): (usize, usize), message: String) {
        self.errors.push(SourceError {
            line,
            column,
            path: path.to_owned(),
            message,
        });
    }
}

/// Appends `[index]` to a path.
fn push_index(path: &mut String, index: usize) {
    use std::fmt::Write as _;
    let _ = write!(path, "[{index}]");
}

/// Replaces `${NAME}` and `${NAME:-default}`; `$${` stands for a literal `${`.
fn substitute(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    if !text.contains("${") {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        if rest[..at].ends_with('$') {
            out.push_str(&rest[..at - 1]);
            out.push_str("${");
            rest = &rest[at + 2..];
            continue;
        }
        out.push_str(&rest[..at]);
        let body_start = at + 2;
        let end = rest[body_start..].find('}').ok_or_else(|| {
            format!("unclosed `${{` in `{text}`; write `${{NAME}}`, or `$${{` for a literal `${{`")
        })?;
        let body = &rest[body_start..body_start + end];
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        let valid = !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(format!(
                "`${{{body}}}` is not a valid environment variable reference; names are letters, digits and `_`"
            ));
        }
        match env(name).or_else(|| default.map(str::to_owned)) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(format!(
                    "environment variable `{name}` is not set; set it or write `${{{name}:-default}}`"
                ));
            }
        }
        rest = &rest[body_start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        (name == "STAGE").then(|| "prod".to_owned())
    }

    #[test]
    fn yaml_becomes_typed_json_with_positions() {
        let text = "routes:\n  - name: a\n    topics: [t1, t2]\n    n: 3\n    f: 1.5\n    b: true\n    z: ~\n";
        let src = load_source(text, &env).unwrap();
        assert_eq!(
            src.value,
            json!({"routes":[{"name":"a","topics":["t1","t2"],"n":3,"f":1.5,"b":true,"z":null}]})
        );
        assert_eq!(src.position("routes[0].topics"), (3, 5));
        assert_eq!(src.position("routes[0].topics[1]"), (3, 18));
        assert_eq!(src.position("routes[0].unknown.deeper"), (2, 5));
    }

    #[test]
    fn json_text_is_accepted() {
        let src = load_source(r#"{"routes": [{"name": "a", "x": [1, 2.5]}]}"#, &env).unwrap();
        assert_eq!(src.value, json!({"routes":[{"name":"a","x":[1,2.5]}]}));
    }

    #[test]
    fn one_line_json_keeps_its_columns() {
        let text = r#"{"routes": [{"name": "a", "topics": ["t1", "t2"]}], "x": 1}"#;
        let src = load_source(text, &env).unwrap();
        assert_eq!(src.position(""), (1, 1));
        assert_eq!(src.position("routes[0].topics"), (1, 27));
        assert_eq!(src.position("routes[0].topics[1]"), (1, 44));
        assert_eq!(src.position("x"), (1, 53));
        let src = load_source("\n\n  [1, {\"b\": 2}]", &env).unwrap();
        assert_eq!(src.position("[1].b"), (3, 8));
        let err = load_source(r#"{"a": [1, }"#, &env).unwrap_err();
        assert_eq!((err.line, err.column), (1, 11), "{err:?}");
    }

    #[test]
    fn routes_are_handed_over_one_by_one() {
        let text = "routes:\n  - name: a\n    n: ${NOPE}\n  - {name: b, topics: [t]}\nother: 1\n";
        let mut seen = Vec::new();
        let src = read_routes(text, &env, &mut |route| {
            seen.push((
                route.index,
                route.value.clone(),
                route.errors.len(),
                route.position(&format!("routes[{}].topics[0]", route.index)),
            ));
        })
        .unwrap();
        assert_eq!(
            seen,
            [
                (0, json!({"name": "a", "n": "${NOPE}"}), 1, (2, 5)),
                (1, json!({"name": "b", "topics": ["t"]}), 0, (4, 24)),
            ]
        );
        assert_eq!(src.value, json!({"routes": [], "other": 1}));
        assert_eq!(src.errors.len(), 1);
        assert_eq!(src.position("other"), (5, 1));
    }

    #[test]
    fn env_substitution() {
        assert_eq!(substitute("fn-${STAGE}", &env).unwrap(), "fn-prod");
        assert_eq!(substitute("${MISSING:-dev}-x", &env).unwrap(), "dev-x");
        assert_eq!(substitute("$${STAGE}", &env).unwrap(), "${STAGE}");
        assert_eq!(substitute("$.value", &env).unwrap(), "$.value");
        assert!(
            substitute("${MISSING}", &env)
                .unwrap_err()
                .contains("`MISSING` is not set")
        );
        assert!(
            substitute("${STAGE", &env)
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(substitute("${1X}", &env).is_err());
    }

    #[test]
    fn errors_carry_positions() {
        let err = load_source("a: ${NOPE}\nb: [1, 2\n", &env).unwrap_err();
        assert!(err.message.contains("not valid YAML"), "{err:?}");
        let errs = load_source("a: x\nb: ${NOPE}\n", &env).unwrap().errors;
        assert_eq!(
            (errs[0].line, errs[0].column, errs[0].path.as_str()),
            (2, 4, "b")
        );
        let errs = load_source("a: 1\na: 2\n", &env).unwrap().errors;
        assert!(errs[0].message.contains("duplicate key"));
    }
}
