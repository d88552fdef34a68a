//! From pattern JSON to the compiled tree, collecting every problem.
//!
//! This pass checks structure (objects, leaf arrays, `$or`) and leaves the
//! operator objects to [`super::operators`]. `$or` groups are kept as
//! written; [`super::normalize`] decides which ones must be merged.

use serde_json::{Map, Number, Value};

use super::PatternProblem;
use super::numeric::{Cidr, NumericRange};
use super::operators::{self, OPERATORS};
use super::path;
use super::strings::{Folded, Wildcard};

/// The keyword that introduces alternatives.
pub(crate) const OR_KEYWORD: &str = "$or";

/// One object level of a pattern: all fields must match, and in each `$or`
/// group at least one branch must match, all against the same event object.
///
/// A compiled pattern is kept for as long as its route table, so every vector of the tree
/// holds exactly its elements (see [`Node::compact`]).
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) fields: Vec<Field>,
    pub(crate) ors: Vec<OrGroup>,
}

/// A `$or` group: at least one branch must match.
#[derive(Debug, Clone)]
pub(crate) struct OrGroup {
    /// Where the group was written, for problem reports.
    pub(crate) path: String,
    pub(crate) branches: Vec<Node>,
}

/// The conditions on one field of an event object.
///
/// As written, a field has either a leaf or one nested object. Merging
/// `$or` branches can give it both, or several alternative objects.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    /// The member name as written; with dots, a path (see [`super::eval`]).
    pub(crate) name: String,
    /// Whether `name` has a dot.
    pub(crate) dotted: bool,
    /// Always empty: no problem is reported at a compiled field, and the tree does not spend
    /// a string per field on it. Kept only while `leaves.rs` still clears it; remove both.
    pub(crate) path: String,
    /// The member names from the event's root to this field (`$or` adds none): where
    /// `exists: false` looks for a value. Empty unless the leaf has `exists: false`, the only
    /// condition that reads it; it moves with the leaf when `$or` branches are merged.
    pub(crate) keys: Box<[Box<str>]>,
    /// Which of two leaves of the same field a merge keeps: the greater, the one compiled
    /// later. aws/event-ruler keeps the one written last; fanout reads patterns without their
    /// key order, so it compiles each object's `$or` after its other fields, as if written
    /// last: a branch's leaf replaces its siblings', a nested `$or`'s replaces its branch's.
    pub(crate) rank: u32,
    /// Allowed values: the field matches if any condition matches.
    pub(crate) leaf: Option<Box<[Cond]>>,
    /// Nested patterns: the field matches if any of them matches. Empty
    /// means no nested-object constraint.
    pub(crate) objects: Vec<Node>,
}

/// One element of a leaf array.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cond {
    /// A plain value: equal strings, numbers equal by value, same literal.
    Equals(Literal),
    /// `{"prefix": "x"}`.
    Prefix(String),
    /// `{"prefix": {"equals-ignore-case": "x"}}`.
    PrefixIgnoreCase(Folded),
    /// `{"suffix": "x"}`.
    Suffix(String),
    /// `{"suffix": {"equals-ignore-case": "x"}}`.
    SuffixIgnoreCase(Folded),
    /// `{"equals-ignore-case": "x"}`.
    EqualsIgnoreCase(Folded),
    /// `{"wildcard": "a*b"}`.
    Wildcard(Wildcard),
    /// `{"anything-but": ...}`.
    AnythingBut(AnythingBut),
    /// `{"numeric": [...]}`.
    Numeric(NumericRange),
    /// `{"cidr": "10.0.0.0/24"}`.
    Cidr(Cidr),
    /// `{"exists": true}`: some leaf value is present.
    Exists,
    /// `{"exists": false}`: no leaf value is present.
    Absent,
}

/// A plain value in a leaf array.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    Str(String),
    Num(Number),
    Bool(bool),
    Null,
}

/// The forms of `anything-but`; each excludes values of one kind, and values of any other
/// kind are not excluded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AnythingBut {
    /// Any string except these.
    Strings(Vec<String>),
    /// Any number except these (by value).
    Numbers(Vec<Number>),
    /// Any string starting with none of these.
    Prefixes(Vec<String>),
    /// Any string ending with none of these.
    Suffixes(Vec<String>),
    /// Any string equal to none of these, ignoring case.
    IgnoreCase(Vec<Folded>),
    /// Any string matching none of these globs.
    Wildcards(Vec<Wildcard>),
}

/// The result of a successful compile pass.
#[derive(Debug)]
pub(crate) struct Compiled {
    pub(crate) root: Node,
    /// Every leaf path, in pattern order, without duplicates.
    pub(crate) paths: Vec<Vec<String>>,
    /// Accepted but worth rewriting (see [`super::Pattern::warnings`]).
    pub(crate) warnings: Vec<PatternProblem>,
}

/// Compiles a pattern, or returns every problem found.
pub(crate) fn compile(pattern: &Value) -> Result<Compiled, Vec<PatternProblem>> {
    let mut compiler = Compiler::default();
    let root = match pattern {
        Value::Object(map) => Some(compiler.object(map, path::ROOT, false)),
        other => {
            compiler.problem(
                path::ROOT,
                format!(
                    "an event pattern must be a JSON object such as {{\"source\": [\"orders\"]}}, found {}",
                    kind(other)
                ),
            );
            None
        }
    };
    match root {
        Some(root) if compiler.problems.is_empty() => Ok(Compiled {
            root,
            paths: compiler.paths,
            warnings: compiler.warnings,
        }),
        _ => Err(compiler.problems),
    }
}

#[derive(Default)]
struct Compiler {
    problems: Vec<PatternProblem>,
    warnings: Vec<PatternProblem>,
    paths: Vec<Vec<String>>,
    /// Field names from the root to the object being compiled (`$or` adds
    /// none: its branches describe the same event object).
    keys: Vec<String>,
    /// Fields compiled so far.
    seq: u32,
}

impl Compiler {
    fn problem(&mut self, at: &str, message: String) {
        self.problems.push(PatternProblem {
            path: at.to_owned(),
            message,
        });
    }

    /// Compiles one object level. `in_or` is set inside `$or` branches,
    /// where operator names may not be used as field names.
    fn object(&mut self, map: &Map<String, Value>, at: &str, in_or: bool) -> Node {
        // Sized for what a valid object holds: one field per member, one group for `$or`.
        let has_or = usize::from(map.contains_key(OR_KEYWORD));
        let mut node = Node {
            fields: Vec::with_capacity(map.len() - has_or),
            ors: Vec::with_capacity(has_or),
        };
        if map.is_empty() {
            self.problem(
                at,
                "empty object is not allowed; name at least one field with an array of allowed values, e.g. {\"state\": [\"running\"]}".to_owned(),
            );
        }
        // `$or` last, as if written after the object's other fields: see [`Field::rank`].
        let fields = map.iter().filter(|(name, _)| *name != OR_KEYWORD);
        for (name, value) in fields.chain(map.get_key_value(OR_KEYWORD)) {
            let field_at = path::member(at, name);
            if name == OR_KEYWORD {
                if let Some(group) = self.or_group(value, &field_at) {
                    node.ors.push(group);
                }
                continue;
            }
            if in_or && OPERATORS.contains(&name.as_str()) {
                self.problem(
                    &field_at,
                    format!(
                        "`{name}` is an operator and cannot be a field name inside `$or`; operators go inside a field's array, e.g. {{\"field\": [{{\"{name}\": ...}}]}}"
                    ),
                );
                continue;
            }
            match value {
                Value::Object(inner) => {
                    self.keys.push(name.clone());
                    let child = self.object(inner, &field_at, in_or);
                    self.keys.pop();
                    let rank = self.rank();
                    node.fields.push(Field {
                        name: name.clone(),
                        dotted: name.contains('.'),
                        path: String::new(),
                        keys: Box::default(),
                        rank,
                        leaf: None,
                        objects: vec![child],
                    });
                }
                Value::Array(items) => {
                    let leaf = self.leaf(items, &field_at);
                    self.record_path(name);
                    let keys = if leaf.contains(&Cond::Absent) {
                        let above = self.keys.iter().map(|key| key.as_str().into());
                        above.chain([name.as_str().into()]).collect()
                    } else {
                        Box::default()
                    };
                    let rank = self.rank();
                    node.fields.push(Field {
                        name: name.clone(),
                        dotted: name.contains('.'),
                        path: String::new(),
                        keys,
                        rank,
                        leaf: Some(leaf.into_boxed_slice()),
                        objects: Vec::new(),
                    });
                }
                other => self.problem(
                    &field_at,
                    format!(
                        "`{name}` must be an array of allowed values (e.g. [\"a\", \"b\"]) or an object of nested fields, found {}",
                        kind(other)
                    ),
                ),
            }
        }
        node
    }

    fn rank(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    fn record_path(&mut self, name: &str) {
        let mut full = self.keys.clone();
        full.push(name.to_owned());
        if !self.paths.contains(&full) {
            self.paths.push(full);
        }
    }

    fn or_group(&mut self, value: &Value, at: &str) -> Option<OrGroup> {
        const FORM: &str = "`$or` takes an array of at least two pattern objects, e.g. [{\"a\": [1]}, {\"b\": [2]}]";
        let Value::Array(items) = value else {
            self.problem(at, format!("{FORM}; found {}", kind(value)));
            return None;
        };
        if items.len() < 2 {
            self.problem(at, format!("{FORM}; found {} element(s)", items.len()));
        }
        let mut branches = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_at = path::index(at, i);
            match item {
                Value::Object(map) => branches.push(self.object(map, &item_at, true)),
                other => self.problem(
                    &item_at,
                    format!(
                        "each `$or` element must be a pattern object, found {}",
                        kind(other)
                    ),
                ),
            }
        }
        Some(OrGroup {
            path: at.to_owned(),
            branches,
        })
    }

    fn leaf(&mut self, items: &[Value], at: &str) -> Vec<Cond> {
        if items.is_empty() {
            self.problem(
                at,
                "empty array is not allowed; list at least one allowed value, e.g. [\"a\"] or [{\"exists\": true}]".to_owned(),
            );
        }
        let mut conds = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let item_at = path::index(at, i);
            let cond = match item {
                Value::String(s) => Some(Cond::Equals(Literal::Str(s.clone()))),
                Value::Number(n) => Some(Cond::Equals(Literal::Num(n.clone()))),
                Value::Bool(b) => Some(Cond::Equals(Literal::Bool(*b))),
                Value::Null => Some(Cond::Equals(Literal::Null)),
                Value::Object(map) => match operators::operator(map, &item_at) {
                    Ok(cond) => {
                        self.note_host_bits(map, &item_at);
                        Some(cond)
                    }
                    Err(problems) => {
                        self.problems.extend(problems);
                        None
                    }
                },
                Value::Array(_) => {
                    self.problem(
                        &item_at,
                        "nested arrays are not allowed; each allowed value is a string, number, boolean, null or an operator object such as {\"prefix\": \"a\"}".to_owned(),
                    );
                    None
                }
            };
            conds.extend(cond);
        }
        conds
    }
}

impl Compiler {
    /// Notes a `cidr` whose address has host bits set (accepted as its network).
    fn note_host_bits(&mut self, operator: &Map<String, Value>, at: &str) {
        let Some(Value::String(text)) = operator.get(operators::CIDR) else {
            return;
        };
        if let Some(network) = Cidr::host_bits_note(text) {
            self.warnings.push(PatternProblem {
                path: path::member(at, operators::CIDR),
                message: format!(
                    "{text:?} has host bits set after the prefix and matches the network {network:?}; write \"{network}\" to say so"
                ),
            });
        }
    }
}

/// Names a JSON value's kind for messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Node {
    /// Gives every vector of the tree exactly the room its elements take: merging `$or`
    /// branches grows vectors past their length, and a compiled pattern lives as long as its
    /// route table. Moves elements to a fresh allocation rather than shrinking in place, which
    /// an allocator may do without returning the spare room.
    pub(crate) fn compact(&mut self) {
        exact(&mut self.fields);
        for field in &mut self.fields {
            exact(&mut field.objects);
            field.objects.iter_mut().for_each(Node::compact);
        }
        exact(&mut self.ors);
        for group in &mut self.ors {
            exact(&mut group.branches);
            group.branches.iter_mut().for_each(Node::compact);
        }
    }
}

/// Moves `items` to an allocation of exactly their size, if they have room to spare.
pub(crate) fn exact<T>(items: &mut Vec<T>) {
    if items.capacity() > items.len() {
        let mut fresh = Vec::with_capacity(items.len());
        fresh.append(items);
        *items = fresh;
    }
}
