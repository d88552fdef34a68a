//! Anchors of a JSONPath filter expression, read from its text.
//!
//! `serde_json_path` keeps its syntax tree private, so the expression (already accepted by the
//! real parser) is tokenized here. When its top level is a chain of `&&` (no top-level `||`),
//! every conjunct is necessary. A conjunct of the form `path OP literal` (either side), where
//! `path` is a singular query from `@` or `$` made of name and index selectors and `OP` is `==`
//! (any literal) or `<`, `<=`, `>`, `>=` (a number), is an anchor: the value at the path equals
//! the literal, or is a number in the range. Index selectors are dropped from the anchor's path:
//! the index looks through arrays, so it finds the indexed element among the others. Anything
//! else (functions, negation, nested filters, `!=`) gives no anchor, which is always safe.
//!
//! The comparisons follow `serde_json_path`: numbers are compared as `f64` and a missing value
//! equals no literal, so each anchor is a necessary condition of its conjunct.

use std::str::FromStr;

use serde_json::Number;

use super::anchor::{Anchor, AnchorTest, Range, ValueKey, number_key};

/// Every anchor the expression's top-level conjuncts give (any one of them is necessary).
pub(crate) fn anchor_options(expression: &str) -> Vec<Anchor> {
    let mut out = Vec::new();
    if let Some(tokens) = tokenize(expression) {
        conjunct_anchors(&tokens, &mut out);
    }
    out
}

/// The field paths an expression reads: for each query from `$`, and each query from `@`
/// outside brackets, its longest prefix of name selectors (`.name`, `['name']`). Everything a
/// query reads lies under that prefix; a query inside brackets (a nested filter) lies under
/// the prefix of the query the brackets follow. `None` when the text cannot be tokenized.
pub(crate) fn read_prefixes(expression: &str) -> Option<Vec<Vec<String>>> {
    let tokens = tokenize(expression)?;
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Token::Sym("[") => depth += 1,
            Token::Sym("]") => depth = depth.saturating_sub(1),
            Token::Sym(root @ ("$" | "@")) if *root == "$" || depth == 0 => {
                let mut path = Vec::new();
                let mut rest = &tokens[i + 1..];
                while let Some((name, tail)) = member_name(rest) {
                    path.push(name.clone());
                    rest = tail;
                }
                out.push(path);
                i = tokens.len() - rest.len();
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    Some(out)
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    /// A string literal, unescaped.
    Str(String),
    /// A number literal, as written.
    Num(String),
    /// A name: `true`, `false`, `null`, a function name, or a member name after `.`.
    Word(String),
    /// Any other symbol: `@ $ . .. [ ] ( ) , * ? : == != < <= > >= && || !`.
    Sym(&'static str),
}

const SYMBOLS: [&str; 21] = [
    "..", "==", "!=", "<=", ">=", "&&", "||", "@", "$", ".", "[", "]", "(", ")", ",", "*", "?",
    ":", "<", ">", "!",
];

fn tokenize(text: &str) -> Option<Vec<Token>> {
    let mut tokens = Vec::new();
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            rest = &rest[1..];
        } else if c == '\'' || c == '"' {
            let (value, len) = string_literal(rest)?;
            tokens.push(Token::Str(value));
            rest = &rest[len..];
        } else if c == '-' || c.is_ascii_digit() {
            let len = rest
                .char_indices()
                .skip(1)
                .find(|&(_, c)| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')))
                .map_or(rest.len(), |(i, _)| i);
            tokens.push(Token::Num(rest[..len].to_owned()));
            rest = &rest[len..];
        } else if c.is_ascii_alphabetic() || c == '_' || !c.is_ascii() {
            let len = rest
                .char_indices()
                .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii()))
                .map_or(rest.len(), |(i, _)| i);
            tokens.push(Token::Word(rest[..len].to_owned()));
            rest = &rest[len..];
        } else {
            let symbol = SYMBOLS.iter().find(|s| rest.starts_with(**s))?;
            tokens.push(Token::Sym(symbol));
            rest = &rest[symbol.len()..];
        }
    }
    Some(tokens)
}

/// Reads an RFC 9535 string literal at the start of `text`: its value and its length in bytes.
fn string_literal(text: &str) -> Option<(String, usize)> {
    let quote = text.chars().next()?;
    let mut value = String::new();
    let mut chars = text.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            _ if c == quote => return Some((value, i + 1)),
            '\\' => {
                let (_, escaped) = chars.next()?;
                match escaped {
                    'b' => value.push('\u{8}'),
                    'f' => value.push('\u{c}'),
                    'n' => value.push('\n'),
                    'r' => value.push('\r'),
                    't' => value.push('\t'),
                    '/' | '\\' => value.push(escaped),
                    _ if escaped == quote => value.push(escaped),
                    'u' => {
                        let first = hex4(&mut chars)?;
                        let code = if (0xD800..0xDC00).contains(&first) {
                            let (_, backslash) = chars.next()?;
                            let (_, u) = chars.next()?;
                            if backslash != '\\' || u != 'u' {
                                return None;
                            }
                            let second = hex4(&mut chars)?;
                            if !(0xDC00..0xE000).contains(&second) {
                                return None;
                            }
                            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                        } else {
                            first
                        };
                        value.push(char::from_u32(code)?);
                    }
                    _ => return None,
                }
            }
            _ if (c as u32) < 0x20 => return None,
            _ => value.push(c),
        }
    }
    None
}

/// Four hex digits of a `\u` escape.
fn hex4(chars: &mut impl Iterator<Item = (usize, char)>) -> Option<u32> {
    let mut code = 0;
    for _ in 0..4 {
        code = code * 16 + chars.next()?.1.to_digit(16)?;
    }
    Some(code)
}

/// Splits at top-level `&&`; gives up on a top-level `||`.
fn conjunct_anchors(tokens: &[Token], out: &mut Vec<Anchor>) {
    let mut depth = 0usize;
    let mut start = 0;
    let mut conjuncts = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Sym("(" | "[") => depth += 1,
            Token::Sym(")" | "]") => depth = depth.saturating_sub(1),
            Token::Sym("||") if depth == 0 => return,
            Token::Sym("&&") if depth == 0 => {
                conjuncts.push(&tokens[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    conjuncts.push(&tokens[start..]);
    for conjunct in conjuncts {
        if let Some(inner) = parenthesized(conjunct) {
            conjunct_anchors(inner, out);
        } else if let Some(anchor) = comparison(conjunct) {
            out.push(anchor);
        }
    }
}

/// The inside of `( ... )` when the parentheses enclose the whole slice.
fn parenthesized(tokens: &[Token]) -> Option<&[Token]> {
    let (Token::Sym("("), Token::Sym(")")) = (tokens.first()?, tokens.last()?) else {
        return None;
    };
    let mut depth = 0usize;
    for (i, token) in tokens.iter().enumerate() {
        match token {
            Token::Sym("(") => depth += 1,
            Token::Sym(")") => {
                depth -= 1;
                if depth == 0 && i + 1 != tokens.len() {
                    return None;
                }
            }
            _ => {}
        }
    }
    Some(&tokens[1..tokens.len() - 1])
}

/// `path OP literal` or `literal OP path`.
fn comparison(tokens: &[Token]) -> Option<Anchor> {
    // A path and a literal hold no brackets other than selectors, so the first operator is
    // the comparison's; were it nested, neither side would read as a path.
    let at = tokens
        .iter()
        .position(|t| matches!(t, Token::Sym("==" | "<" | "<=" | ">" | ">=" | "!=")))?;
    let Token::Sym(op) = tokens[at] else {
        return None;
    };
    if op == "!=" {
        return None;
    }
    let (left, right) = (&tokens[..at], &tokens[at + 1..]);
    let (path, literal, op) = match (singular_path(left), singular_path(right)) {
        (Some(path), None) => (path, right, op),
        (None, Some(path)) => (path, left, mirrored(op)),
        _ => return None,
    };
    let [literal] = literal else {
        return None;
    };
    let test = match (op, literal) {
        ("==", Token::Str(s)) => AnchorTest::Exact(ValueKey::Str(s.clone())),
        ("==", Token::Num(n)) => AnchorTest::Exact(ValueKey::Num(number_key(&number(n)?)?)),
        ("==", Token::Word(w)) => AnchorTest::Exact(match w.as_str() {
            "true" => ValueKey::Bool(true),
            "false" => ValueKey::Bool(false),
            "null" => ValueKey::Null,
            _ => return None,
        }),
        (_, Token::Num(n)) => {
            let x = number(n)?.as_f64()?;
            let inclusive = op.ends_with('=');
            AnchorTest::Range(match op {
                "<" | "<=" => Range {
                    lower: None,
                    upper: Some((x, inclusive)),
                },
                _ => Range {
                    lower: Some((x, inclusive)),
                    upper: None,
                },
            })
        }
        _ => return None,
    };
    Some(Anchor { path, test })
}

/// The number literal as `serde_json_path` reads it.
fn number(text: &str) -> Option<Number> {
    Number::from_str(text).ok()
}

/// `a OP b` is `b OP' a`.
fn mirrored(op: &'static str) -> &'static str {
    match op {
        "<" => ">",
        "<=" => ">=",
        ">" => "<",
        ">=" => "<=",
        other => other,
    }
}

/// A name selector at the start of `tokens` (`.name` or `['name']`): the name and what follows.
fn member_name(tokens: &[Token]) -> Option<(&String, &[Token])> {
    match tokens {
        [Token::Sym("."), Token::Word(name), tail @ ..]
        | [
            Token::Sym("["),
            Token::Str(name),
            Token::Sym("]"),
            tail @ ..,
        ] => Some((name, tail)),
        _ => None,
    }
}

/// The member names of a singular query `@.a['b'][0]` (index selectors dropped), or `None`
/// when the tokens are not exactly such a query.
fn singular_path(tokens: &[Token]) -> Option<Vec<String>> {
    let (Token::Sym("@" | "$"), mut rest) = tokens.split_first()? else {
        return None;
    };
    let mut path = Vec::new();
    while !rest.is_empty() {
        if let Some((name, tail)) = member_name(rest) {
            path.push(name.clone());
            rest = tail;
            continue;
        }
        match rest {
            [
                Token::Sym("["),
                Token::Num(index),
                Token::Sym("]"),
                tail @ ..,
            ] if index.parse::<i64>().is_ok() => {
                rest = tail;
            }
            _ => return None,
        }
    }
    (!path.is_empty()).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchors(expression: &str) -> Vec<String> {
        anchor_options(expression)
            .into_iter()
            .map(|a| format!("{}:{:?}", a.path.join("."), a.test))
            .collect()
    }

    fn num(x: f64) -> String {
        format!("{:?}", AnchorTest::Exact(ValueKey::Num(x.to_bits())))
    }

    #[test]
    fn equality_conjuncts_are_anchors() {
        assert_eq!(
            anchors("@.value.kind == 'order' && $['value'].n == 5"),
            [
                "value.kind:Exact(Str(\"order\"))".to_owned(),
                format!("value.n:{}", num(5.0))
            ]
        );
        assert_eq!(anchors("'x' == @.a"), ["a:Exact(Str(\"x\"))"]);
        assert_eq!(anchors("@.a[0].b == true"), ["a.b:Exact(Bool(true))"]);
        assert_eq!(anchors("@.a == null"), ["a:Exact(Null)"]);
        assert_eq!(anchors("@.a == -0"), [format!("a:{}", num(0.0))]);
        assert_eq!(anchors("@.a == 1.5e2"), [format!("a:{}", num(150.0))]);
    }

    #[test]
    fn numeric_comparisons_are_ranges() {
        assert_eq!(
            anchors("@.a > 5"),
            ["a:Range(Range { lower: Some((5.0, false)), upper: None })"]
        );
        assert_eq!(
            anchors("10 >= @.a"),
            ["a:Range(Range { lower: None, upper: Some((10.0, true)) })"]
        );
        assert!(anchors("@.a > 'x'").is_empty());
    }

    #[test]
    fn strings_are_unescaped() {
        assert_eq!(
            anchors(r#"@["a\"b"] == 'it\'s \u00e9 \uD83D\uDE00 && || =='"#),
            ["a\"b:Exact(Str(\"it's é 😀 && || ==\"))"]
        );
    }

    #[test]
    fn parentheses_are_looked_into() {
        assert_eq!(
            anchors("(@.a == 1 && (@.b == 'x')) && (@.c == 2 || @.d == 3)"),
            [format!("a:{}", num(1.0)), "b:Exact(Str(\"x\"))".to_owned()]
        );
    }

    #[test]
    fn no_anchor_where_none_is_necessary() {
        for expression in [
            "@.a == 1 || @.b == 2",
            "@.a != 1",
            "!(@.a == 1)",
            "length(@.a) == 1",
            "@.a[?@.b == 1]",
            "@.a[?@.b == 1] && @.a",
            "@.a == @.b",
            "@ == 1",
            "@.a.* == 1",
            "@..a == 1",
            "value(@.a) == 1",
        ] {
            assert!(anchors(expression).is_empty(), "{expression}");
        }
    }

    #[test]
    fn read_prefixes_cover_every_query() {
        let paths = |e: &str| -> Vec<String> {
            read_prefixes(e)
                .unwrap()
                .into_iter()
                .map(|p| p.join("."))
                .collect()
        };
        assert_eq!(
            paths("@.value.a == 1 && $['value'][\"b c\"].d > 2"),
            ["value.a", "value.b c.d"]
        );
        // A query stops at its first selector that is not a name; nested filters lie below it.
        assert_eq!(
            paths("@.value.items[?@.sku == 'x' && $.key == 'k']"),
            ["value.items", "key"]
        );
        assert_eq!(
            paths("length(@.value.tags) > 0 || @.value.n[0] == 1"),
            ["value.tags", "value.n"]
        );
        assert_eq!(paths("@..x"), [""]);
        assert_eq!(paths("@.value..x"), ["value"]);
        assert_eq!(paths("@.key == '@.value.zzz'"), ["key"]);
    }
}
