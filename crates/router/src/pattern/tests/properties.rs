//! Property tests: the compiled matcher agrees with simple reference models.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::super::Pattern;
use super::super::numeric::Cidr;
use super::super::strings::{Folded, Wildcard};

/// Reference glob: `*` matches any run of characters.
fn naive_glob(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len()).any(|skip| naive_glob(rest, &text[skip..])),
        Some((c, rest)) => text.first() == Some(c) && naive_glob(rest, &text[1..]),
    }
}

fn lower(text: &str) -> String {
    text.chars().flat_map(char::to_lowercase).collect()
}

// ---- `$or` reference model: spell out every combination as JSON ----

/// Expands a pattern object into `$or`-free objects, any of which must
/// match: EventBridge's own model of `$or`, where a branch's allowed values
/// for a field replace those of the field outside it.
fn expand(pattern: &Map<String, Value>) -> Vec<Map<String, Value>> {
    let mut alternatives = vec![Map::new()];
    for (name, value) in pattern {
        match value {
            Value::Object(inner) if name != "$or" => {
                let inner = expand(inner);
                let mut next = Vec::new();
                for alternative in &alternatives {
                    for choice in &inner {
                        let mut combined = alternative.clone();
                        combined.insert(name.clone(), Value::Object(choice.clone()));
                        next.push(combined);
                    }
                }
                alternatives = next;
            }
            Value::Array(_) if name != "$or" => {
                for alternative in &mut alternatives {
                    alternative.insert(name.clone(), value.clone());
                }
            }
            _ => {}
        }
    }
    if let Some(Value::Array(branches)) = pattern.get("$or") {
        let mut next = Vec::new();
        for alternative in &alternatives {
            for branch in branches.iter().filter_map(Value::as_object) {
                for choice in expand(branch) {
                    next.push(merge(alternative.clone(), choice));
                }
            }
        }
        alternatives = next;
    }
    alternatives
}

fn merge(mut into: Map<String, Value>, from: Map<String, Value>) -> Map<String, Value> {
    for (name, value) in from {
        match (into.get_mut(&name), value) {
            (Some(Value::Object(left)), Value::Object(right)) => {
                *left = merge(std::mem::take(left), right);
            }
            (_, value) => {
                into.insert(name, value);
            }
        }
    }
    into
}

fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => prop::collection::vec(0..3i64, 1..3).prop_map(|v| json!(v)),
        1 => Just(json!([{"exists": false}])),
        1 => Just(json!([{"exists": true}])),
        1 => Just(json!([{"numeric": [">", 0]}])),
    ]
    .boxed()
}

/// Pattern objects whose leaf names and object names never overlap, so a
/// JSON merge can represent every combination.
fn pattern_object(
    leaves: &'static [&'static str],
    objects: &'static [&'static str],
    depth: u32,
) -> BoxedStrategy<Value> {
    let leaf_fields = prop::collection::vec(prop::option::of(leaf()), leaves.len());
    let object_fields = if depth == 0 {
        Just(vec![None; objects.len()]).boxed()
    } else {
        prop::collection::vec(
            prop::option::of(pattern_object(&["x", "y"], &[], depth - 1)),
            objects.len(),
        )
        .boxed()
    };
    let or = if depth == 0 {
        Just(None).boxed()
    } else {
        prop::option::of(prop::collection::vec(
            pattern_object(leaves, objects, depth - 1),
            2..=3,
        ))
        .boxed()
    };
    (leaf_fields, object_fields, or)
        .prop_map(move |(leaf_values, object_values, or)| {
            let mut map = Map::new();
            for (name, value) in leaves.iter().zip(leaf_values) {
                if let Some(value) = value {
                    map.insert((*name).to_owned(), value);
                }
            }
            for (name, value) in objects.iter().zip(object_values) {
                if let Some(value) = value {
                    map.insert((*name).to_owned(), value);
                }
            }
            if let Some(branches) = or {
                map.insert("$or".to_owned(), Value::Array(branches));
            }
            if map.is_empty() {
                map.insert(leaves[0].to_owned(), json!([0]));
            }
            Value::Object(map)
        })
        .boxed()
}

fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![(0..3i64).prop_map(|n| json!(n)), Just(Value::Null)].boxed()
}

fn leaf_value() -> BoxedStrategy<Value> {
    prop_oneof![
        scalar(),
        prop::collection::vec(scalar(), 0..3).prop_map(Value::Array)
    ]
    .boxed()
}

fn inner_event() -> BoxedStrategy<Value> {
    (
        prop::option::of(leaf_value()),
        prop::option::of(leaf_value()),
    )
        .prop_map(|(x, y)| {
            let mut map = Map::new();
            map.extend(x.map(|v| ("x".to_owned(), v)));
            map.extend(y.map(|v| ("y".to_owned(), v)));
            Value::Object(map)
        })
        .boxed()
}

fn event() -> BoxedStrategy<Value> {
    let nested = prop_oneof![
        inner_event(),
        prop::collection::vec(inner_event(), 0..4).prop_map(Value::Array),
        scalar(),
    ];
    (
        prop::collection::vec(prop::option::of(leaf_value()), 3),
        prop::collection::vec(prop::option::of(nested), 2),
    )
        .prop_map(|(leaves, objects)| {
            let mut map = Map::new();
            for (name, value) in ["a", "b", "c"].iter().zip(leaves) {
                map.extend(value.map(|v| ((*name).to_owned(), v)));
            }
            for (name, value) in ["o", "p"].iter().zip(objects) {
                map.extend(value.map(|v| ((*name).to_owned(), v)));
            }
            Value::Object(map)
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// `$or` is matched exactly as if every combination were its own
    /// pattern, even where the compiler keeps groups unexpanded.
    #[test]
    fn or_agrees_with_spelled_out_combinations(
        pattern in pattern_object(&["a", "b", "c"], &["o", "p"], 2),
        events in prop::collection::vec(event(), 8),
    ) {
        let combinations = expand(pattern.as_object().unwrap());
        let compiled = Pattern::new(&pattern).unwrap();
        let combinations: Vec<Pattern> = combinations
            .into_iter()
            .map(|c| Pattern::new(&Value::Object(c)).unwrap())
            .collect();
        for event in &events {
            let expected = combinations.iter().any(|p| p.matches(event));
            prop_assert_eq!(compiled.matches(event), expected, "event {}", event);
        }
    }

    #[test]
    fn wildcard_agrees_with_naive_glob(
        pieces in prop::collection::vec("[ab]{0,3}", 1..4),
        edges in (any::<bool>(), any::<bool>()),
        text in "[ab]{0,10}",
    ) {
        // Stars separate non-empty pieces: never two in a row.
        let pieces: Vec<String> = pieces.into_iter().filter(|p| !p.is_empty()).collect();
        let mut pattern = pieces.join("*");
        if edges.0 || pattern.is_empty() {
            pattern.insert(0, '*');
        }
        if edges.1 && pattern.len() > 1 {
            pattern.push('*');
        }
        let glob = Wildcard::parse(&pattern).unwrap();
        let expected = naive_glob(&pattern.chars().collect::<Vec<_>>(), &text.chars().collect::<Vec<_>>());
        prop_assert_eq!(glob.matches(&text), expected);
    }

    #[test]
    fn ignore_case_agrees_with_lowercasing(pattern in "[aBçÇßİ]{0,4}", text in "[aAbBçÇßİ]{0,6}") {
        let folded = Folded::new(&pattern);
        let (p, t) = (lower(&pattern), lower(&text));
        prop_assert_eq!(folded.equals(&text), t == p);
        prop_assert_eq!(folded.is_prefix_of(&text), t.starts_with(&p));
        prop_assert_eq!(folded.is_suffix_of(&text), t.ends_with(&p));
    }

    #[test]
    fn ipv4_cidr_agrees_with_shifting(
        written in any::<u32>(),
        bits in 0u32..=32,
        address in any::<u32>(),
        host_bits in any::<bool>(),
    ) {
        // Half the ranges are written with host bits set: they mean their network.
        let shift = 32 - bits;
        let network = if bits == 0 { 0 } else { written >> shift << shift };
        let shown = if host_bits { written } else { network };
        let text = format!("{}/{bits}", std::net::Ipv4Addr::from(shown));
        let cidr = Cidr::parse(&text).unwrap();
        let expected = bits == 0 || address >> shift == network >> shift;
        prop_assert_eq!(cidr.matches(&std::net::Ipv4Addr::from(address).to_string()), expected);
    }

    /// Every text a network matches starts with its text prefix (the index's anchor), however
    /// the address is written.
    #[test]
    fn ipv4_cidr_matches_only_texts_with_its_prefix(
        network in any::<u32>(),
        bits in 0u32..=32,
        octets in prop::collection::vec(
            prop_oneof![4 => (0u32..256).prop_map(|o| o.to_string()), 1 => "0[0-9]{1,2}|[0-9]{4}| 1|"],
            1..6,
        ),
    ) {
        let shift = 32 - bits;
        // Written with its host bits set when `octets` has three elements.
        let written = network;
        let network = if bits == 0 { 0 } else { network >> shift << shift };
        let shown = if octets.len() == 3 { written } else { network };
        let cidr = Cidr::parse(&format!("{}/{bits}", std::net::Ipv4Addr::from(shown))).unwrap();
        let prefix = cidr.text_prefix();
        prop_assert_eq!(prefix.is_some(), bits >= 8);
        // Half the time, the network's own octets, so that matches are common.
        let text = if octets.len() % 2 == 0 {
            let own = std::net::Ipv4Addr::from(network).to_string();
            let mut parts: Vec<String> = own.split('.').map(str::to_owned).collect();
            parts[3] = octets[0].clone();
            parts.join(".")
        } else {
            octets.join(".")
        };
        if let Some(prefix) = prefix
            && cidr.matches(&text)
        {
            prop_assert!(text.starts_with(&prefix), "{text} / {prefix}");
        }
    }

    #[test]
    fn ipv6_networks_have_no_text_prefix(bits in 0u32..=128) {
        let cidr = Cidr::parse(&format!("::/{bits}")).unwrap();
        prop_assert_eq!(cidr.text_prefix(), None);
    }
}

#[test]
fn ipv4_text_prefixes_are_the_whole_leading_octets() {
    let prefix = |net: &str| Cidr::parse(net).unwrap().text_prefix();
    assert_eq!(prefix("10.0.0.0/8").as_deref(), Some("10."));
    assert_eq!(prefix("10.1.0.0/16").as_deref(), Some("10.1."));
    assert_eq!(prefix("10.0.0.0/12").as_deref(), Some("10."));
    assert_eq!(prefix("192.168.7.0/24").as_deref(), Some("192.168.7."));
    assert_eq!(prefix("10.1.2.3/32").as_deref(), Some("10.1.2.3"));
    assert_eq!(prefix("0.0.0.0/4"), None);
}
