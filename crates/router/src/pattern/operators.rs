//! Operator objects inside leaf arrays, like `{"prefix": "us-"}`.

use serde_json::{Map, Value};

use super::PatternProblem;
use super::compile::{AnythingBut, Cond, kind};
use super::numeric::{self, Bound, Cidr, NumericRange};
use super::path;
use super::strings::{Folded, Wildcard};

const PREFIX: &str = "prefix";
const SUFFIX: &str = "suffix";
const EQUALS_IGNORE_CASE: &str = "equals-ignore-case";
const WILDCARD: &str = "wildcard";
const ANYTHING_BUT: &str = "anything-but";
const NUMERIC: &str = "numeric";
pub(crate) const CIDR: &str = "cidr";
const EXISTS: &str = "exists";

/// Every operator name, in the order messages list them.
pub(crate) const OPERATORS: &[&str] = &[
    PREFIX,
    SUFFIX,
    EQUALS_IGNORE_CASE,
    WILDCARD,
    ANYTHING_BUT,
    NUMERIC,
    CIDR,
    EXISTS,
];

/// The operators `anything-but` accepts in its object form.
const ANYTHING_BUT_OPERATORS: &[&str] = &[PREFIX, SUFFIX, EQUALS_IGNORE_CASE, WILDCARD];

type Problems = Vec<PatternProblem>;

fn problem(at: &str, message: String) -> Problems {
    vec![PatternProblem {
        path: at.to_owned(),
        message,
    }]
}

/// Compiles one operator object found at `at`.
pub(crate) fn operator(map: &Map<String, Value>, at: &str) -> Result<Cond, Problems> {
    let mut entries = map.iter();
    match (entries.next(), map.len()) {
        (Some((name, operand)), 1) => one_operator(name, operand, at),
        (None, _) => Err(problem(
            at,
            format!(
                "empty operator object; use one of: {}",
                OPERATORS.join(", ")
            ),
        )),
        _ => {
            let names: Vec<String> = map.keys().map(|k| format!("`{k}`")).collect();
            let mut problems = problem(
                at,
                format!(
                    "an operator object takes exactly one operator, found {} ({}); to allow values matching either, give each its own array element, e.g. [{{\"prefix\": \"a\"}}, {{\"suffix\": \"b\"}}]",
                    map.len(),
                    names.join(", ")
                ),
            );
            for (name, operand) in map {
                if let Err(more) = one_operator(name, operand, at) {
                    problems.extend(more);
                }
            }
            Err(problems)
        }
    }
}

fn one_operator(name: &str, operand: &Value, at: &str) -> Result<Cond, Problems> {
    let at = &path::member(at, name);
    match name {
        PREFIX => match operand {
            Value::String(s) => Ok(Cond::Prefix(s.clone())),
            _ => ignore_case_form(PREFIX, operand, at).map(Cond::PrefixIgnoreCase),
        },
        SUFFIX => match operand {
            Value::String(s) => Ok(Cond::Suffix(s.clone())),
            _ => ignore_case_form(SUFFIX, operand, at).map(Cond::SuffixIgnoreCase),
        },
        EQUALS_IGNORE_CASE => string_operand(EQUALS_IGNORE_CASE, operand, at)
            .map(|s| Cond::EqualsIgnoreCase(Folded::new(s))),
        WILDCARD => {
            let text = string_operand(WILDCARD, operand, at)?;
            Wildcard::parse(text)
                .map(Cond::Wildcard)
                .map_err(|message| problem(at, message))
        }
        ANYTHING_BUT => anything_but(operand, at).map(Cond::AnythingBut),
        NUMERIC => numeric_range(operand, at).map(Cond::Numeric),
        CIDR => {
            let text = string_operand(CIDR, operand, at)?;
            Cidr::parse(text)
                .map(Cond::Cidr)
                .map_err(|message| problem(at, message))
        }
        EXISTS => match operand {
            Value::Bool(true) => Ok(Cond::Exists),
            Value::Bool(false) => Ok(Cond::Absent),
            other => Err(problem(
                at,
                format!("`exists` takes true or false, found {}", kind(other)),
            )),
        },
        unknown => Err(problem(at, unknown_operator(unknown, OPERATORS))),
    }
}

fn unknown_operator(name: &str, allowed: &[&str]) -> String {
    let hint = allowed
        .iter()
        .filter(|known| edit_distance(name, known) <= 2)
        .min_by_key(|known| edit_distance(name, known))
        .map(|known| format!(" (did you mean `{known}`?)"))
        .unwrap_or_default();
    format!(
        "unknown operator `{name}`{hint}; allowed: {}",
        allowed.join(", ")
    )
}

fn string_operand<'a>(operator: &str, operand: &'a Value, at: &str) -> Result<&'a str, Problems> {
    match operand {
        Value::String(s) => Ok(s),
        other => Err(problem(
            at,
            format!("`{operator}` takes a string, found {}", kind(other)),
        )),
    }
}

/// `{"equals-ignore-case": "x"}` under `prefix` or `suffix`.
fn ignore_case_form(operator: &str, operand: &Value, at: &str) -> Result<Folded, Problems> {
    let form = format!("`{operator}` takes a string or {{\"equals-ignore-case\": \"...\"}}");
    let Value::Object(map) = operand else {
        return Err(problem(at, format!("{form}, found {}", kind(operand))));
    };
    match map.iter().next() {
        Some((key, value)) if map.len() == 1 && key == EQUALS_IGNORE_CASE => {
            string_operand(EQUALS_IGNORE_CASE, value, &path::member(at, key)).map(Folded::new)
        }
        Some((key, _)) if map.len() == 1 => Err(problem(
            &path::member(at, key),
            format!("{form}; `{key}` is not allowed here"),
        )),
        _ => Err(problem(
            at,
            format!("{form}, found an object with {} keys", map.len()),
        )),
    }
}

fn anything_but(operand: &Value, at: &str) -> Result<AnythingBut, Problems> {
    match operand {
        Value::String(s) => Ok(AnythingBut::Strings(vec![s.clone()])),
        Value::Number(n) => numeric::check_operand(n)
            .map(|_| AnythingBut::Numbers(vec![n.clone()]))
            .map_err(|message| problem(at, format!("`anything-but` number {message}"))),
        Value::Array(items) => anything_but_list(items, at),
        Value::Object(map) => anything_but_object(map, at),
        other => Err(problem(
            at,
            format!(
                "`anything-but` takes a string, a number, an array of only strings or only numbers, or an object with one of {}; found {}",
                ANYTHING_BUT_OPERATORS.join(", "),
                kind(other)
            ),
        )),
    }
}

fn anything_but_list(items: &[Value], at: &str) -> Result<AnythingBut, Problems> {
    if items.is_empty() {
        return Err(problem(
            at,
            "`anything-but` list is empty; list at least one string or number".to_owned(),
        ));
    }
    let mut problems = Vec::new();
    if items.iter().all(Value::is_string) {
        let strings = items.iter().filter_map(Value::as_str).map(str::to_owned);
        return Ok(AnythingBut::Strings(strings.collect()));
    }
    if items.iter().all(Value::is_number) {
        let mut numbers = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            if let Value::Number(n) = item {
                match numeric::check_operand(n) {
                    Ok(_) => numbers.push(n.clone()),
                    Err(message) => problems.extend(problem(&path::index(at, i), message)),
                }
            }
        }
        return if problems.is_empty() {
            Ok(AnythingBut::Numbers(numbers))
        } else {
            Err(problems)
        };
    }
    for (i, item) in items.iter().enumerate() {
        if !item.is_string() && !item.is_number() {
            problems.extend(problem(
                &path::index(at, i),
                format!(
                    "`anything-but` lists take strings or numbers, found {}",
                    kind(item)
                ),
            ));
        }
    }
    if problems.is_empty() {
        problems.extend(problem(
            at,
            "`anything-but` list mixes strings and numbers; use only strings or only numbers"
                .to_owned(),
        ));
    }
    Err(problems)
}

fn anything_but_object(map: &Map<String, Value>, at: &str) -> Result<AnythingBut, Problems> {
    let mut entries = map.iter();
    let (name, operand) = match (entries.next(), map.len()) {
        (Some(entry), 1) => entry,
        _ => {
            return Err(problem(
                at,
                format!(
                    "`anything-but` object takes exactly one of {}, found {} keys",
                    ANYTHING_BUT_OPERATORS.join(", "),
                    map.len()
                ),
            ));
        }
    };
    let inner_at = path::member(at, name);
    if !ANYTHING_BUT_OPERATORS.contains(&name.as_str()) {
        let message = if OPERATORS.contains(&name.as_str()) {
            format!(
                "`{name}` cannot be used inside `anything-but`; allowed: {}",
                ANYTHING_BUT_OPERATORS.join(", ")
            )
        } else {
            unknown_operator(name, ANYTHING_BUT_OPERATORS)
        };
        return Err(problem(&inner_at, message));
    }
    let values: Vec<(String, &str)> = match operand {
        Value::String(s) => vec![(inner_at.clone(), s.as_str())],
        Value::Array(items) if !items.is_empty() => {
            let mut values = Vec::with_capacity(items.len());
            let mut problems = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let item_at = path::index(&inner_at, i);
                match item {
                    Value::String(s) => values.push((item_at, s.as_str())),
                    other => problems.extend(problem(
                        &item_at,
                        format!(
                            "`anything-but` `{name}` values must be strings, found {}",
                            kind(other)
                        ),
                    )),
                }
            }
            if !problems.is_empty() {
                return Err(problems);
            }
            values
        }
        other => {
            return Err(problem(
                &inner_at,
                format!(
                    "`anything-but` `{name}` takes a string or a non-empty array of strings, found {}",
                    kind(other)
                ),
            ));
        }
    };
    let mut problems = Vec::new();
    if name == PREFIX || name == SUFFIX {
        for (value_at, value) in &values {
            if value.is_empty() {
                problems.extend(problem(
                    value_at,
                    format!("empty `{name}` is not allowed in `anything-but`: it would exclude every string"),
                ));
            }
        }
    }
    let owned = values.iter().map(|(_, v)| (*v).to_owned());
    let result = match name.as_str() {
        PREFIX => AnythingBut::Prefixes(owned.collect()),
        SUFFIX => AnythingBut::Suffixes(owned.collect()),
        EQUALS_IGNORE_CASE => {
            AnythingBut::IgnoreCase(values.iter().map(|(_, v)| Folded::new(v)).collect())
        }
        _ => {
            let mut globs = Vec::with_capacity(values.len());
            for (value_at, value) in &values {
                match Wildcard::parse(value) {
                    Ok(glob) => globs.push(glob),
                    Err(message) => problems.extend(problem(value_at, message)),
                }
            }
            AnythingBut::Wildcards(globs)
        }
    };
    if problems.is_empty() {
        Ok(result)
    } else {
        Err(problems)
    }
}

const COMPARISONS: &str = "=, <, <=, >, >=";
const NUMERIC_FORM: &str = "`numeric` takes one comparison such as [\"<\", 10] or [\"=\", 5], or a lower and an upper bound such as [\">\", 0, \"<=\", 5]";

/// Parses `["op", n]` or `[">"|">=", n, "<"|"<=", m]`.
fn numeric_range(operand: &Value, at: &str) -> Result<NumericRange, Problems> {
    let items = match operand {
        Value::Array(items) if !items.is_empty() => items,
        Value::Array(_) => {
            return Err(problem(at, format!("{NUMERIC_FORM}; found an empty array")));
        }
        other => {
            return Err(problem(
                at,
                format!("{NUMERIC_FORM}; found {}", kind(other)),
            ));
        }
    };
    let mut problems = Vec::new();
    let mut bounds: Vec<(&str, Option<f64>)> = Vec::new();
    for (pair, chunk) in items.chunks(2).enumerate() {
        let op_at = path::index(at, pair * 2);
        let value_at = path::index(at, pair * 2 + 1);
        if pair >= 2 {
            problems.extend(problem(
                &op_at,
                format!("too many elements; {NUMERIC_FORM}"),
            ));
            break;
        }
        let op = match &chunk[0] {
            Value::String(op) if ["=", "<", "<=", ">", ">="].contains(&op.as_str()) => op.as_str(),
            Value::String(op) => {
                problems.extend(problem(
                    &op_at,
                    format!("unknown comparison `{op}`; allowed: {COMPARISONS}"),
                ));
                continue;
            }
            other => {
                problems.extend(problem(
                    &op_at,
                    format!(
                        "expected a comparison ({COMPARISONS}), found {}",
                        kind(other)
                    ),
                ));
                continue;
            }
        };
        let value = match chunk.get(1) {
            Some(Value::Number(n)) => match numeric::check_operand(n) {
                Ok(v) => Some(v),
                Err(message) => {
                    problems.extend(problem(&value_at, message));
                    None
                }
            },
            Some(other) => {
                problems.extend(problem(
                    &value_at,
                    format!("expected a number after `{op}`, found {}", kind(other)),
                ));
                None
            }
            None => {
                problems.extend(problem(
                    &op_at,
                    format!("`{op}` needs a number after it; {NUMERIC_FORM}"),
                ));
                None
            }
        };
        bounds.push((op, value));
    }
    if let [(first, _), (second, _)] = bounds.as_slice() {
        if !matches!(*first, ">" | ">=") {
            problems.extend(problem(
                &path::index(at, 0),
                format!("a two-sided range starts with its lower bound (`>` or `>=`), found `{first}`; {NUMERIC_FORM}"),
            ));
        }
        if !matches!(*second, "<" | "<=") {
            problems.extend(problem(
                &path::index(at, 2),
                format!("the second comparison of a range must be `<` or `<=`, found `{second}`; {NUMERIC_FORM}"),
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut range = NumericRange {
        lower: None,
        upper: None,
    };
    for (op, value) in bounds {
        let Some(value) = value else { continue };
        let inclusive = op.contains('=');
        let bound = Some(Bound { value, inclusive });
        match op {
            "=" => (range.lower, range.upper) = (bound, bound),
            ">" | ">=" => range.lower = bound,
            _ => range.upper = bound,
        }
    }
    let two_sided = items.len() == 4;
    if let (true, Some(lower), Some(upper)) = (two_sided, range.lower, range.upper)
        && lower.value >= upper.value
    {
        return Err(problem(
            at,
            format!(
                "lower bound {} must be less than upper bound {}",
                lower.value, upper.value
            ),
        ));
    }
    Ok(range)
}

/// Levenshtein distance, for "did you mean" hints.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}
