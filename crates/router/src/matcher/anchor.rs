//! Anchors: necessary conditions of a filter that the index can look up.
//!
//! An anchor names a field path of the record view and a test on the scalar values found there
//! (looking through arrays at every level). A filter's anchors are a *disjunction*: whenever the
//! filter holds, at least one of its anchors holds. The converse need not be true: a record that
//! satisfies an anchor only makes its route a candidate, which the exact evaluator confirms.

use std::hash::{Hash, Hasher};

use serde_json::Number;

use crate::json::{Json, Scalar, Shape};

/// A necessary condition: some scalar at `path` passes `test`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Anchor {
    /// Object member names from the record view down to the value (arrays are looked through).
    pub(crate) path: Vec<String>,
    /// What a scalar there must satisfy.
    pub(crate) test: AnchorTest,
}

/// The test an anchor puts on a scalar.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum AnchorTest {
    /// Equal to this value (numbers by value).
    Exact(ValueKey),
    /// A string starting with this prefix.
    Prefix(String),
    /// A string ending with this suffix.
    Suffix(String),
    /// A number inside this range.
    Range(Range),
    /// A string equal to this one ignoring case: its lower-case fold (see [`folded_chars`])
    /// equals this text, which is folded already.
    Folded(String),
}

impl Anchor {
    /// Whether the anchor holds in `value` (the record view): some scalar found at the path,
    /// looking through arrays at every level as the index does, passes the test.
    pub(crate) fn holds<'v>(&self, value: impl Json<'v>) -> bool {
        holds(value, &self.path, &self.test)
    }
}

fn holds<'v, J: Json<'v>>(value: J, path: &[String], test: &AnchorTest) -> bool {
    match value.shape() {
        Shape::Array => value.items().any(|item| holds(item, path, test)),
        Shape::Object => match path.split_first() {
            Some((name, rest)) => value.get(name).is_some_and(|v| holds(v, rest, test)),
            None => false,
        },
        Shape::Scalar(scalar) => path.is_empty() && test.holds(scalar),
    }
}

impl AnchorTest {
    /// Whether a scalar passes the test (the comparisons the index's lookups make).
    fn holds(&self, scalar: Scalar<'_>) -> bool {
        match (self, scalar) {
            (AnchorTest::Exact(ValueKey::Str(expected)), Scalar::Str(s)) => expected == s,
            (AnchorTest::Exact(ValueKey::Num(key)), Scalar::Number(n)) => {
                number_key(n) == Some(*key)
            }
            (AnchorTest::Exact(ValueKey::Bool(expected)), Scalar::Bool(b)) => *expected == b,
            (AnchorTest::Exact(ValueKey::Null), Scalar::Null) => true,
            (AnchorTest::Prefix(prefix), Scalar::Str(s)) => s.starts_with(prefix.as_str()),
            (AnchorTest::Suffix(suffix), Scalar::Str(s)) => s.ends_with(suffix.as_str()),
            (AnchorTest::Range(range), Scalar::Number(n)) => {
                n.as_f64().is_some_and(|x| range.contains(x))
            }
            (AnchorTest::Folded(folded), Scalar::Str(s)) => folded_chars(s).eq(folded.chars()),
            _ => false,
        }
    }
}

/// Lower-cases a string char by char (some characters fold to several): the fold of
/// `equals-ignore-case` (`pattern/strings.rs`), which the index must reproduce exactly.
pub(crate) fn folded_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().flat_map(char::to_lowercase)
}

/// A scalar as a hash key: strings exactly, numbers by value, booleans, null.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ValueKey {
    /// A string.
    Str(String),
    /// A number, as the bits of its canonical `f64` (see [`number_key`]).
    Num(u64),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
}

/// The hash key of a number: the bits of its `f64` value, with `-0.0` folded into `0.0`.
///
/// Both evaluators decide number equality so that equal numbers have equal `f64` values
/// (integers compared exactly are equal as `f64` too), so equal numbers share a key; distinct
/// numbers that round to the same `f64` share one as well, which only adds candidates.
pub(crate) fn number_key(n: &Number) -> Option<u64> {
    n.as_f64().map(f64_key)
}

/// The hash key of an `f64` (see [`number_key`]).
pub(crate) fn f64_key(x: f64) -> u64 {
    if x == 0.0 {
        0.0f64.to_bits()
    } else {
        x.to_bits()
    }
}

/// A numeric range; a missing bound is unbounded. Bounds are `(value, inclusive)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Range {
    /// Lower bound.
    pub(crate) lower: Option<(f64, bool)>,
    /// Upper bound.
    pub(crate) upper: Option<(f64, bool)>,
}

impl Range {
    /// Whether `x` lies inside the range (the same comparisons as the evaluators').
    pub(crate) fn contains(&self, x: f64) -> bool {
        let above = self
            .lower
            .is_none_or(|(v, inclusive)| if inclusive { x >= v } else { x > v });
        let below = self
            .upper
            .is_none_or(|(v, inclusive)| if inclusive { x <= v } else { x < v });
        above && below
    }

    /// The lower end, `-inf` when unbounded.
    pub(crate) fn low(&self) -> f64 {
        self.lower.map_or(f64::NEG_INFINITY, |(v, _)| v)
    }

    /// The upper end, `+inf` when unbounded.
    pub(crate) fn high(&self) -> f64 {
        self.upper.map_or(f64::INFINITY, |(v, _)| v)
    }

    fn bits(&self) -> [Option<(u64, bool)>; 2] {
        let key = |b: Option<(f64, bool)>| b.map(|(v, i)| (f64_key(v), i));
        [key(self.lower), key(self.upper)]
    }
}

// Ranges are hashed (to count how many filters share an anchor) by their bits.
impl Eq for Range {}

impl Hash for Range {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.bits().hash(state);
    }
}

/// Prices anchors: the index keeps, for each filter, the cheapest set of anchors that covers it.
pub(crate) type Cost<'a> = &'a dyn Fn(&Anchor) -> u64;

/// The cheaper of two anchor sets (`None` = no anchor set known yet).
pub(crate) fn cheaper(
    best: Option<(u64, Vec<Anchor>)>,
    other: Option<(u64, Vec<Anchor>)>,
) -> Option<(u64, Vec<Anchor>)> {
    match (best, other) {
        (Some(a), Some(b)) => Some(if b.0 < a.0 { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// The union of one anchor set per alternative; `None` if some alternative has none.
pub(crate) fn union(
    alternatives: impl IntoIterator<Item = Option<(u64, Vec<Anchor>)>>,
) -> Option<(u64, Vec<Anchor>)> {
    let mut total = 0u64;
    let mut anchors = Vec::new();
    for alternative in alternatives {
        let (cost, set) = alternative?;
        total = total.saturating_add(cost);
        anchors.extend(set);
    }
    Some((total, anchors))
}

/// Prices one set of anchors.
pub(crate) fn priced(cost: Cost<'_>, anchors: Vec<Anchor>) -> (u64, Vec<Anchor>) {
    let total = anchors
        .iter()
        .fold(0u64, |sum, a| sum.saturating_add(cost(a)));
    (total, anchors)
}
