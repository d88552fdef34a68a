//! EventBridge's array rules: any element may match, objects inside arrays
//! are traversed, and fields from different elements never combine.

use serde_json::json;

use super::super::Pattern;
use super::super::normalize::MAX_ALTERNATIVES;
use super::{MatchCase, check_matches};

pub(super) const CASES_COUNT: usize =
    ARRAYS.len() + ARRAY_CONSISTENCY.len() + EXISTS_FALSE_IN_ARRAYS.len() + OR_AND_ARRAYS.len();

#[rustfmt::skip]
const ARRAYS: &[MatchCase] = &[
    ("event array matches if the intersection is non-empty", r#"{"resources":["arn:1","arn:2"]}"#, r#"{"resources":["arn:0","arn:2"]}"#, true),
    ("event array with no common element", r#"{"resources":["arn:1"]}"#, r#"{"resources":["arn:0","arn:2"]}"#, false),
    ("empty event array matches no value", r#"{"resources":["arn:1"]}"#, r#"{"resources":[]}"#, false),
    ("nested event arrays are flattened for leaves", r#"{"r":["x"]}"#, r#"{"r":[["a"],["b",["x"]]]}"#, true),
    ("prefix on an event array", r#"{"r":[{"prefix":"ab"}]}"#, r#"{"r":["x","abc"]}"#, true),
    ("objects inside arrays are traversed", r#"{"items":{"sku":["A"]}}"#, r#"{"items":[{"sku":"B"},{"sku":"A"}]}"#, true),
    ("objects inside arrays, no element matches", r#"{"items":{"sku":["A"]}}"#, r#"{"items":[{"sku":"B"},{"sku":"C"}]}"#, false),
    ("objects inside nested arrays are traversed", r#"{"e":{"first":["Anna"]}}"#, r#"{"e":[[{"first":"John"},{"first":"Anna"}],[{"first":"Peter"}]]}"#, true),
    ("arrays at several levels", r#"{"a":{"b":{"c":[1]}}}"#, r#"{"a":[{"b":[{"c":0},{"c":1}]}]}"#, true),
    ("leaf value inside an array of objects", r#"{"a":{"b":[1]}}"#, r#"{"a":[{"b":[0,1]}]}"#, true),
    ("an array of scalars has no nested fields", r#"{"a":{"b":[1]}}"#, r#"{"a":[1,2]}"#, false),
    ("scalar elements beside objects are skipped", r#"{"a":{"b":[1]}}"#, r#"{"a":[5,{"b":1}]}"#, true),
];

#[rustfmt::skip]
const ARRAY_CONSISTENCY: &[MatchCase] = &[
    ("fields from one element match together", r#"{"items":{"sku":["A"],"qty":[2]}}"#, r#"{"items":[{"sku":"A","qty":2},{"sku":"B","qty":1}]}"#, true),
    ("fields from different elements never combine", r#"{"items":{"sku":["A"],"qty":[2]}}"#, r#"{"items":[{"sku":"A","qty":1},{"sku":"B","qty":2}]}"#, false),
    ("event-ruler README: Anna/Jones across elements", r#"{"employees":{"firstName":["Anna"],"lastName":["Jones"]}}"#, r#"{"employees":[[{"firstName":"John","lastName":"Doe"},{"firstName":"Anna","lastName":"Smith"}],[{"firstName":"Peter","lastName":"Jones"}]]}"#, false),
    ("event-ruler README: Anna/Smith in one element", r#"{"employees":{"firstName":["Anna"],"lastName":["Smith"]}}"#, r#"{"employees":[[{"firstName":"John","lastName":"Doe"},{"firstName":"Anna","lastName":"Smith"}],[{"firstName":"Peter","lastName":"Jones"}]]}"#, true),
    ("deeper fields stay within their element", r#"{"a":{"b":{"c":[1]},"d":[2]}}"#, r#"{"a":[{"b":{"c":1},"d":3},{"b":{"c":0},"d":2}]}"#, false),
    ("deeper fields in one element", r#"{"a":{"b":{"c":[1]},"d":[2]}}"#, r#"{"a":[{"b":{"c":1},"d":3},{"b":{"c":1},"d":2}]}"#, true),
    ("inner array under one element may use any inner element", r#"{"a":{"b":{"c":[1]},"d":[2]}}"#, r#"{"a":[{"b":[{"c":0},{"c":1}],"d":2}]}"#, true),
    ("inner array elements do not combine either", r#"{"a":{"b":{"c":[1],"e":[2]}}}"#, r#"{"a":{"b":[{"c":1},{"e":2}]}}"#, false),
    ("separate arrays combine freely", r#"{"x":{"k":[1]},"y":{"k":[2]}}"#, r#"{"x":[{"k":0},{"k":1}],"y":[{"k":2},{"k":0}]}"#, true),
];

/// event-ruler: a field that has a value anywhere in the event is not absent, even in an array
/// element other than the one the rest of the object pattern matched.
#[rustfmt::skip]
const EXISTS_FALSE_IN_ARRAYS: &[MatchCase] = &[
    ("exists false in an array of objects: another element has the field", r#"{"items":{"sku":["A"],"gift":[{"exists":false}]}}"#, r#"{"items":[{"sku":"A"},{"sku":"B","gift":true}]}"#, false),
    ("exists false in an array of objects: the matched element has the field", r#"{"items":{"sku":["A"],"gift":[{"exists":false}]}}"#, r#"{"items":[{"sku":"A","gift":true},{"sku":"B"}]}"#, false),
    ("exists false in an array of objects: no element has the field", r#"{"items":{"sku":["A"],"gift":[{"exists":false}]}}"#, r#"{"items":[{"sku":"A"},{"sku":"B","note":1}]}"#, true),
    ("exists false in an array of objects: null counts as a value", r#"{"items":{"sku":["A"],"gift":[{"exists":false}]}}"#, r#"{"items":[{"sku":"A"},{"sku":"B","gift":null}]}"#, false),
    ("exists false in an array of objects: an object is no value", r#"{"items":{"sku":["A"],"gift":[{"exists":false}]}}"#, r#"{"items":[{"sku":"A"},{"gift":{"x":1}}]}"#, true),
    ("exists false in an array of objects: nested arrays too", r#"{"a":{"b":{"e":[1],"d":[{"exists":false}]}}}"#, r#"{"a":[{"b":[{"e":1}]},{"b":[{"e":2},{"d":0}]}]}"#, false),
    ("exists false in an array of objects: other path only", r#"{"a":{"b":{"e":[1],"d":[{"exists":false}]}}}"#, r#"{"a":[{"b":[{"e":1}]},{"x":{"d":0}}]}"#, true),
    // event-ruler visits a pattern's fields in the order of their names and judges absence
    // only among the elements the fields before it left possible: with `a` < `gift` it
    // matches this one. fanout's absence does not depend on field names (difference).
    ("exists false in an array of objects: judged in the whole event whatever the names (difference)", r#"{"items":{"a":["A"],"gift":[{"exists":false}]}}"#, r#"{"items":[{"a":"A"},{"a":"B","gift":true}]}"#, false),
    ("exists false under an empty array", r#"{"items":{"gift":[{"exists":false}]}}"#, r#"{"items":[]}"#, true),
    ("exists false ORed with a value in an array element", r#"{"items":{"sku":["A"],"gift":[{"exists":false},false]}}"#, r#"{"items":[{"sku":"A","gift":false},{"sku":"B","gift":true}]}"#, true),
    ("exists false ORed with a value, no element has it", r#"{"items":{"sku":["A"],"gift":[{"exists":false},false]}}"#, r#"{"items":[{"sku":"A","gift":true},{"sku":"B","gift":false}]}"#, false),
];

#[rustfmt::skip]
const OR_AND_ARRAYS: &[MatchCase] = &[
    ("$or branch and sibling merge into one element", r#"{"items":{"qty":[2]},"$or":[{"items":{"sku":["A"]}},{"flag":[true]}]}"#, r#"{"items":[{"sku":"A","qty":1},{"sku":"B","qty":2}]}"#, false),
    ("$or branch and sibling in the same element", r#"{"items":{"qty":[2]},"$or":[{"items":{"sku":["A"]}},{"flag":[true]}]}"#, r#"{"items":[{"sku":"A","qty":2}]}"#, true),
    ("$or other branch needs no element", r#"{"items":{"qty":[2]},"$or":[{"items":{"sku":["A"]}},{"flag":[true]}]}"#, r#"{"items":[{"sku":"B","qty":2}],"flag":true}"#, true),
    ("$or inside an array object reads one element", r#"{"items":{"sku":["A"],"$or":[{"qty":[2]},{"gift":[true]}]}}"#, r#"{"items":[{"sku":"A","qty":1},{"sku":"B","gift":true}]}"#, false),
    ("$or inside an array object, same element", r#"{"items":{"sku":["A"],"$or":[{"qty":[2]},{"gift":[true]}]}}"#, r#"{"items":[{"sku":"B","qty":2},{"sku":"A","gift":true}]}"#, true),
    ("two $or groups naming one array merge", r#"{"$or":[{"i":{"a":[1]}},{"x":[1]}],"d":{"$or":[{"y":[1]},{"z":[1]}]},"i":{"b":[2]}}"#, r#"{"i":[{"a":1},{"b":2}],"d":{"z":1}}"#, false),
    ("two $or groups naming one array, one element", r#"{"$or":[{"i":{"a":[1]}},{"x":[1]}],"d":{"$or":[{"y":[1]},{"z":[1]}]},"i":{"b":[2]}}"#, r#"{"i":[{"a":1,"b":2}],"d":{"z":1}}"#, true),
    ("nested $or naming a sibling's array", r#"{"i":{"b":[2]},"$or":[{"$or":[{"i":{"a":[1]}},{"q":[1]}]},{"x":[1]}]}"#, r#"{"i":[{"a":1},{"b":2}]}"#, false),
    ("nested $or naming a sibling's array, one element", r#"{"i":{"b":[2]},"$or":[{"$or":[{"i":{"a":[1]}},{"q":[1]}]},{"x":[1]}]}"#, r#"{"i":[{"a":1,"b":2}]}"#, true),
    ("$or leaf and sibling object on one array field", r#"{"a":{"b":[1]},"$or":[{"a":[5]},{"c":[1]}]}"#, r#"{"a":[5,{"b":1}]}"#, false),
    ("$or leaf and sibling object, other branch", r#"{"a":{"b":[1]},"$or":[{"a":[5]},{"c":[1]}]}"#, r#"{"a":[5,{"b":1}],"c":1}"#, true),
];

#[test]
fn arrays() {
    check_matches(ARRAYS);
}

#[test]
fn array_consistency() {
    check_matches(ARRAY_CONSISTENCY);
}

#[test]
fn exists_false_in_arrays() {
    check_matches(EXISTS_FALSE_IN_ARRAYS);
}

#[test]
fn or_and_arrays() {
    check_matches(OR_AND_ARRAYS);
}

#[test]
fn or_expansion_has_a_budget() {
    // Every branch names the array field `items` and holds the next level's
    // `$or`: eleven levels spell out to 2^11 alternatives.
    fn branches(level: usize) -> serde_json::Value {
        let branch = |name: String| {
            let mut branch = json!({"items": {name: [1]}});
            if level < 10 {
                branch["$or"] = branches(level + 1);
            }
            branch
        };
        json!([branch(format!("a{level}")), branch(format!("b{level}"))])
    }
    let pattern = json!({"items": {"base": [0]}, "$or": branches(0)});
    let err = Pattern::new(&pattern).unwrap_err();
    let expected = format!("more than {MAX_ALTERNATIVES} combinations");
    assert!(
        err.problems.iter().any(|p| p.message.contains(&expected)),
        "{err}"
    );
}

#[test]
fn dependent_or_groups_within_budget_compile() {
    fn branches(level: usize) -> serde_json::Value {
        let branch = |name: String| {
            let mut branch = json!({"items": {name: [1]}});
            if level < 4 {
                branch["$or"] = branches(level + 1);
            }
            branch
        };
        json!([branch(format!("a{level}")), branch(format!("b{level}"))])
    }
    let pattern = Pattern::new(&json!({"items": {"base": [0]}, "$or": branches(0)})).unwrap();
    let one_element = json!({"items": [{"base": 0, "a0": 1, "b1": 1, "a2": 1, "b3": 1, "a4": 1}]});
    assert!(pattern.matches(&one_element));
    let split = json!({"items": [{"base": 0, "a0": 1, "b1": 1}, {"a2": 1, "b3": 1, "a4": 1}]});
    assert!(!pattern.matches(&split));
}

#[test]
fn independent_or_groups_are_not_expanded() {
    // Twelve independent groups of three branches: 531441 combinations if
    // spelled out, but they read disjoint fields and stay as groups.
    let mut pattern = serde_json::Map::new();
    for i in 0..12 {
        let group = json!({"$or": [
            {format!("a{i}"): [1]},
            {format!("b{i}"): [1]},
            {format!("c{i}"): [1]}
        ]});
        pattern.insert(format!("g{i}"), group);
    }
    let pattern = Pattern::new(&pattern.into()).unwrap();
    let mut event = serde_json::Map::new();
    for i in 0..12 {
        event.insert(format!("g{i}"), json!({format!("c{i}"): 1}));
    }
    assert!(pattern.matches(&event.clone().into()));
    event.insert("g5".into(), json!({"d5": 1}));
    assert!(!pattern.matches(&event.into()));
}
