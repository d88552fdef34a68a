//! Read access to a JSON document, whatever holds it.
//!
//! Filters and the route index read a record through [`Json`]: a `serde_json::Value` (the
//! [`crate::RecordView`] of the public API, dry runs, tests) or a [`crate::doc::Doc`] node (the
//! matching path of [`crate::RouteTable::match_parts`], which builds no `Value`). Both give
//! the same answers for the same document.

use serde_json::{Number, Value};

/// A JSON scalar, borrowed from its document.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Scalar<'v> {
    Null,
    Bool(bool),
    Number(&'v Number),
    Str(&'v str),
}

impl<'v> Scalar<'v> {
    pub(crate) fn as_str(self) -> Option<&'v str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_number(self) -> Option<&'v Number> {
        match self {
            Scalar::Number(n) => Some(n),
            _ => None,
        }
    }
}

/// What a JSON value is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Shape<'v> {
    Scalar(Scalar<'v>),
    Array,
    Object,
}

/// A reference to a value inside a JSON document.
pub(crate) trait Json<'v>: Copy {
    /// Whether [`Json::get`] is a lookup (a map) rather than a scan of the members.
    const INDEXED: bool;

    /// What the value is.
    fn shape(self) -> Shape<'v>;

    /// The elements, in order, when the value is an array; nothing otherwise.
    fn items(self) -> impl Iterator<Item = Self>;

    /// The members, in document order, when the value is an object; nothing otherwise.
    fn members(self) -> impl Iterator<Item = (&'v str, Self)>;

    /// The member called `name` when the value is an object that has one.
    fn get(self, name: &str) -> Option<Self>;

    /// How many members the value has when it is an object (0 otherwise).
    fn member_count(self) -> usize;

    /// For a member parsed under [`crate::projection::Need::Fields`], its index among those
    /// fields; [`NO_KEY`] otherwise. Lets the route index find the member's trie node without
    /// comparing names.
    fn key(self) -> u32 {
        NO_KEY
    }
}

/// Whether two member names are equal. Names are short: a byte loop the compiler inlines
/// beats a call to `memcmp`.
pub(crate) fn same_name(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// "Not a read member": see [`Json::key`].
pub(crate) const NO_KEY: u32 = u32::MAX;

impl<'v> Json<'v> for &'v Value {
    const INDEXED: bool = true;

    fn shape(self) -> Shape<'v> {
        match self {
            Value::Null => Shape::Scalar(Scalar::Null),
            Value::Bool(b) => Shape::Scalar(Scalar::Bool(*b)),
            Value::Number(n) => Shape::Scalar(Scalar::Number(n)),
            Value::String(s) => Shape::Scalar(Scalar::Str(s)),
            Value::Array(_) => Shape::Array,
            Value::Object(_) => Shape::Object,
        }
    }

    fn items(self) -> impl Iterator<Item = Self> {
        self.as_array().into_iter().flatten()
    }

    fn members(self) -> impl Iterator<Item = (&'v str, Self)> {
        self.as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| (name.as_str(), value))
    }

    fn get(self, name: &str) -> Option<Self> {
        self.as_object()?.get(name)
    }

    fn member_count(self) -> usize {
        self.as_object().map_or(0, serde_json::Map::len)
    }
}
