//! Reading a route file's text: YAML (or JSON) to a JSON value, with `${ENV}` substitution in
//! string values and the line/column of every node kept for error messages.

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

/// A parsed file: its JSON value and the position of every node by path.
#[derive(Debug, Default)]
pub struct Source {
    /// The document as JSON.
    pub value: Value,
    /// Problems that did not stop reading (bad `${ENV}` references, duplicate keys, ...).
    pub errors: Vec<SourceError>,
    positions: HashMap<String, (usize, usize)>,
}

impl Source {
    /// Line and column of the node at `path`, or of its nearest ancestor that has one.
    pub fn position(&self, path: &str) -> (usize, usize) {
        let mut path = path;
        loop {
            if let Some(pos) = self.positions.get(path) {
                return *pos;
            }
            match path.rfind(['.', '[']) {
                Some(cut) => path = &path[..cut],
                None => return self.positions.get("").copied().unwrap_or((1, 1)),
            }
        }
    }
}

/// Parses YAML/JSON text. `env` resolves `${NAME}` in string values (`${NAME:-default}` gives a
/// default, `$${` is a literal `${`). A syntax error stops reading; other problems are kept in
/// [`Source::errors`] with the rest of the document still read.
pub fn load_source(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Source, SourceError> {
    let mut source = Source::default();
    let mut errors = Vec::new();
    let mut reader = Reader {
        parser: Parser::new_from_str(text),
        env,
        source: &mut source,
        errors: &mut errors,
    };
    let value = reader.document().map_err(|e| SourceError {
        line: e.marker().line(),
        column: e.marker().col() + 1,
        path: String::new(),
        message: format!("not valid YAML/JSON: {}", e.info()),
    })?;
    source.value = value;
    source.errors = errors;
    Ok(source)
}

/// Builds the JSON value straight from the parser's events, so that every node keeps its
/// position and duplicate keys are seen (a YAML map would silently keep the last one).
struct Reader<'a, 'input> {
    parser: Parser<'input, StrInput<'input>>,
    env: &'a dyn Fn(&str) -> Option<String>,
    source: &'a mut Source,
    errors: &'a mut Vec<SourceError>,
}

type Spanned<'input> = (Event<'input>, Span);

impl<'input> Reader<'_, 'input> {
    fn next(&mut self) -> Result<Spanned<'input>, ScanError> {
        match self.parser.next_event() {
            Some(event) => event,
            None => Ok((Event::StreamEnd, Span::default())),
        }
    }

    fn document(&mut self) -> Result<Value, ScanError> {
        let mut value = Value::Null;
        let mut documents = 0;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamEnd => return Ok(value),
                Event::DocumentStart(_) => {
                    documents += 1;
                    if documents > 1 {
                        self.error(
                            "",
                            pos(&span),
                            "a route file holds one YAML document; found more".into(),
                        );
                    }
                    let (first, span) = self.next()?;
                    let node = self.node(first, span, &mut String::new())?;
                    if documents == 1 {
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
        let at = pos(&span);
        self.source.positions.entry(path.clone()).or_insert(at);
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
            Event::SequenceStart(..) => {
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    let len = path.len();
                    path.push_str(&format!("[{}]", items.len()));
                    items.push(self.node(event, span, path)?);
                    path.truncate(len);
                }
                Value::Array(items)
            }
            Event::MappingStart(..) => {
                let mut map = Map::new();
                loop {
                    let (event, key_span) = self.next()?;
                    let name = match event {
                        Event::MappingEnd => break,
                        Event::Scalar(text, ..) => text.into_owned(),
                        other => {
                            self.error(
                                path,
                                pos(&key_span),
                                "mapping keys must be plain strings".into(),
                            );
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
                    self.source.positions.insert(path.clone(), pos(&key_span));
                    if map.contains_key(&name) {
                        self.error(path, pos(&key_span), format!("duplicate key `{name}`"));
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

fn pos(span: &Span) -> (usize, usize) {
    (span.start.line(), span.start.col() + 1)
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
