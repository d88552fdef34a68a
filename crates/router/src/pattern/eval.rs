//! Matching an event against the compiled tree, without allocating.
//!
//! Array rules (EventBridge's "JSON array matching"):
//! - a leaf condition holds if any scalar in the event value holds it,
//!   looking through nested arrays;
//! - a nested object pattern must hold within one object, so when the event
//!   value is an array the pattern is tried on each object element in turn
//!   and fields of different elements never combine;
//! - `exists: false` holds when the field has no value anywhere in the event:
//!   it is looked up from the root through every element of every array, not
//!   only in the element the rest of its object pattern matched.

use super::compile::{AnythingBut, Cond, Field, Literal, Node};
use super::numeric::numbers_equal;
use crate::json::{Json, Scalar, Shape};

/// Whether any alternative matches the event value (the root, or a field
/// holding nested objects).
pub(crate) fn matches_root<'v, J: Json<'v>>(alternatives: &[Node], root: J) -> bool {
    any_alternative(alternatives, Some(root), root)
}

/// Whether any alternative matches the event value (the root, or a field holding nested
/// objects); `root` is the whole event.
fn any_alternative<'v, J: Json<'v>>(alternatives: &[Node], value: Option<J>, root: J) -> bool {
    let mut saw_object = false;
    let matched = any_object(value, &mut saw_object, &mut |object| {
        alternatives
            .iter()
            .any(|node| node_matches(node, Some(object), root))
    });
    // No object to look into (missing, scalar, empty array): every field of
    // the nested pattern is missing, which only `exists: false` accepts.
    matched
        || (!saw_object
            && alternatives
                .iter()
                .any(|node| node_matches::<J>(node, None, root)))
}

/// Calls `f` on each object in `value`, looking through arrays, until it
/// returns true. Sets `saw_object` if there was any object.
fn any_object<'v, J: Json<'v>, F>(value: Option<J>, saw_object: &mut bool, f: &mut F) -> bool
where
    F: FnMut(J) -> bool,
{
    let Some(value) = value else {
        return false;
    };
    match value.shape() {
        Shape::Object => {
            *saw_object = true;
            f(value)
        }
        Shape::Array => value
            .items()
            .any(|item| any_object(Some(item), saw_object, f)),
        Shape::Scalar(_) => false,
    }
}

fn node_matches<'v, J: Json<'v>>(node: &Node, object: Option<J>, root: J) -> bool {
    node.fields
        .iter()
        .all(|field| member_matches(field, object, root))
        && node.ors.iter().all(|group| {
            group
                .branches
                .iter()
                .any(|branch| node_matches(branch, object, root))
        })
}

/// Whether the field matches in `object`. A name with dots (`a.b`) names every member path
/// whose names, joined with dots, spell it (`a` → `b`, or a member called `a.b`), as
/// aws/event-ruler flattens events; the field matches if it matches at any of them.
fn member_matches<'v, J: Json<'v>>(field: &Field, object: Option<J>, root: J) -> bool {
    if !field.dotted {
        return field_matches(field, object.and_then(|o| o.get(&field.name)), root);
    }
    let mut found = false;
    let matched = object.is_some_and(|o| {
        spelled(o, &field.name, &mut |value| {
            found = true;
            field_matches(field, Some(value), root)
        })
    });
    matched || (!found && field_matches(field, None, root))
}

/// Calls `f` on each value at a member path of `object` that spells `name` with dots,
/// looking through arrays between the members, until it returns true.
pub(crate) fn spelled<'v, J: Json<'v>, F>(object: J, name: &str, f: &mut F) -> bool
where
    F: FnMut(J) -> bool,
{
    if let Some(value) = object.get(name)
        && f(value)
    {
        return true;
    }
    name.match_indices('.').any(|(at, _)| {
        let (head, rest) = (&name[..at], &name[at + 1..]);
        object.get(head).is_some_and(|value| {
            let mut saw_object = false;
            any_object(Some(value), &mut saw_object, &mut |inner| {
                spelled(inner, rest, f)
            })
        })
    })
}

fn field_matches<'v, J: Json<'v>>(field: &Field, value: Option<J>, root: J) -> bool {
    match (&field.leaf, field.objects.is_empty()) {
        (Some(conds), true) => leaf_matches(field, conds, value, root),
        (None, false) => any_alternative(&field.objects, value, root),
        // Only merged `$or` branches give a field both: they must hold on
        // the same array element.
        (Some(conds), false) => match value {
            Some(items) if items.shape() == Shape::Array && items.items().next().is_some() => items
                .items()
                .any(|item| field_matches(field, Some(item), root)),
            _ => {
                leaf_matches(field, conds, value, root)
                    && any_alternative(&field.objects, value, root)
            }
        },
        (None, true) => true,
    }
}

fn leaf_matches<'v, J: Json<'v>>(field: &Field, conds: &[Cond], value: Option<J>, root: J) -> bool {
    conds.iter().any(|cond| match cond {
        Cond::Absent => !has_value(Some(root), &field.keys),
        _ => any_scalar(value, &mut |scalar| scalar_matches(cond, scalar)),
    })
}

/// Whether some scalar lies at `keys` below `value`, looking through every array on the way
/// (names with dots as in [`spelled`]).
fn has_value<'v, J: Json<'v>>(value: Option<J>, keys: &[Box<str>]) -> bool {
    let Some(value) = value else {
        return false;
    };
    match (value.shape(), keys.split_first()) {
        (Shape::Array, _) => value.items().any(|item| has_value(Some(item), keys)),
        (Shape::Object, Some((name, rest))) if name.contains('.') => {
            spelled(value, name, &mut |found| has_value(Some(found), rest))
        }
        (Shape::Object, Some((name, rest))) => has_value(value.get(name), rest),
        (Shape::Scalar(_), None) => true,
        _ => false,
    }
}

/// Calls `f` on each non-container value, looking through arrays (objects
/// hold no leaf value at this path), until it returns true.
fn any_scalar<'v, J: Json<'v>, F>(value: Option<J>, f: &mut F) -> bool
where
    F: FnMut(Scalar<'v>) -> bool,
{
    let Some(value) = value else {
        return false;
    };
    match value.shape() {
        Shape::Object => false,
        Shape::Array => value.items().any(|item| any_scalar(Some(item), f)),
        Shape::Scalar(scalar) => f(scalar),
    }
}

fn scalar_matches(cond: &Cond, value: Scalar<'_>) -> bool {
    match cond {
        Cond::Equals(literal) => literal_matches(literal, value),
        Cond::Prefix(prefix) => value
            .as_str()
            .is_some_and(|s| s.starts_with(prefix.as_str())),
        Cond::PrefixIgnoreCase(prefix) => value.as_str().is_some_and(|s| prefix.is_prefix_of(s)),
        Cond::Suffix(suffix) => value.as_str().is_some_and(|s| s.ends_with(suffix.as_str())),
        Cond::SuffixIgnoreCase(suffix) => value.as_str().is_some_and(|s| suffix.is_suffix_of(s)),
        Cond::EqualsIgnoreCase(text) => value.as_str().is_some_and(|s| text.equals(s)),
        Cond::Wildcard(glob) => value.as_str().is_some_and(|s| glob.matches(s)),
        Cond::AnythingBut(excluded) => anything_but_matches(excluded, value),
        Cond::Numeric(range) => value.as_number().is_some_and(|n| range.matches(n)),
        Cond::Cidr(cidr) => value.as_str().is_some_and(|s| cidr.matches(s)),
        Cond::Exists => true,
        Cond::Absent => false,
    }
}

fn literal_matches(literal: &Literal, value: Scalar<'_>) -> bool {
    match (literal, value) {
        (Literal::Str(expected), Scalar::Str(actual)) => expected == actual,
        (Literal::Num(expected), Scalar::Number(actual)) => numbers_equal(expected, actual),
        (Literal::Bool(expected), Scalar::Bool(actual)) => *expected == actual,
        (Literal::Null, Scalar::Null) => true,
        _ => false,
    }
}

/// `anything-but` excludes values of its own kind only: a value of another kind (a string
/// against excluded numbers, a number, boolean or null against excluded strings or string
/// operators) is not excluded, so it matches, as in aws/event-ruler.
fn anything_but_matches(excluded: &AnythingBut, value: Scalar<'_>) -> bool {
    if let AnythingBut::Numbers(numbers) = excluded {
        return value
            .as_number()
            .is_none_or(|n| !numbers.iter().any(|x| numbers_equal(x, n)));
    }
    let Some(s) = value.as_str() else {
        return true;
    };
    match excluded {
        AnythingBut::Strings(strings) => !strings.iter().any(|x| x == s),
        AnythingBut::Prefixes(prefixes) => !prefixes.iter().any(|p| s.starts_with(p.as_str())),
        AnythingBut::Suffixes(suffixes) => !suffixes.iter().any(|p| s.ends_with(p.as_str())),
        AnythingBut::IgnoreCase(folded) => !folded.iter().any(|x| x.equals(s)),
        AnythingBut::Wildcards(globs) => !globs.iter().any(|g| g.matches(s)),
        AnythingBut::Numbers(_) => true,
    }
}
