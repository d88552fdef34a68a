//! The parsed document against the full view's members, and its JSON syntax against serde_json.

use super::*;
use crate::record::RecordView;
use serde_json::json;

fn need(paths: &[&str]) -> Need {
    let mut need = Need::nothing();
    for p in paths {
        let path: Vec<String> = p
            .split('.')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        need.add(&path);
    }
    need
}

/// The members of the full view `need` reads (the oracle).
fn project(value: &Value, need: &Need) -> Value {
    match (value, need) {
        (_, Need::All) => value.clone(),
        (Value::Object(map), _) => Value::Object(
            map.iter()
                .filter_map(|(k, v)| need.member(k).map(|n| (k.clone(), project(v, n))))
                .collect(),
        ),
        (Value::Array(items), _) => {
            Value::Array(items.iter().map(|item| project(item, need)).collect())
        }
        _ => value.clone(),
    }
}

/// The doc of a record with this value, as a `Value`, and the full view's read members.
fn both(paths: &[&str], value: &[u8], headers: &[(&str, Option<&[u8]>)]) -> (Value, Value) {
    let need = need(paths);
    let parts = RecordParts {
        topic: "t",
        partition: 3,
        offset: 9,
        timestamp: Some(5),
        key: Some(b"k-1"),
        value: Some(value),
    };
    let reads = Reads::new(need.clone());
    let doc = Doc::record(parts, headers.iter().copied(), &reads);
    let full = RecordView::from_parts(parts, headers.iter().copied());
    let mut read = project(full.view(), &need);
    read["topic"] = json!("t"); // the table looks the topic up first: always there
    (doc.root().to_value(&Need::All), read)
}

#[test]
fn reads_what_the_read_view_holds() {
    let text = br#"{"a":{"b":1,"c":[1,2.5,null,true]},"d":[{"e":"x","f":2},{"e":{"g":"\u00e9"}},5],"h":"skip","a":{"b":2}}"#;
    for paths in [
        &["value.a.c", "value.d.e"][..],
        &["value"],
        &["value.a", "key", "partition", "offset", "timestamp"],
        &["value.zz", "headers.h"],
        &[""],
    ] {
        let (doc, view) = both(paths, text, &[("h", Some(b"1")), ("x", None)]);
        assert_eq!(doc, view, "{paths:?}");
    }
    let (doc, _) = both(&["value.d.e", "value.a.b"], text, &[]);
    assert_eq!(
        doc,
        json!({"topic":"t","value":{"a":{"b":2},"d":[{"e":"x"},{"e":{"g":"é"}},5]}})
    );
}

#[test]
fn decoding_rules_and_headers_match_the_view() {
    let headers: [(&str, Option<&[u8]>); 5] = [
        ("a", Some(b"1")),
        ("b", None),
        ("a", Some(b"2")),
        ("a", Some(b"3")),
        ("bin", Some(&[0x66, 0xff])),
    ];
    for value in [
        &br#"{"a":1,"b":[1,}"#[..],
        br#"{"a":1} x"#,
        b"order-17",
        b"{\"a\":1,\"b\":\"\xff\"}",
        br#"{"a":1,"b":"\q"}"#,
        b"12.5",
        br#"{"\u0061":-3,"a":{"z":[]}}"#,
        br#"{"a":18446744073709551615}"#,
        br#""quoted \"text\"""#,
    ] {
        let (doc, view) = both(&["value.a", "headers"], value, &headers);
        assert_eq!(doc, view, "{}", String::from_utf8_lossy(value));
        let (doc, view) = both(&["value", "headers.a"], value, &headers);
        assert_eq!(doc, view, "{}", String::from_utf8_lossy(value));
    }
}

#[test]
fn nodes_read_like_values() {
    let need = Need::All;
    let parts = RecordParts {
        topic: "t",
        value: Some(br#"{"a":[1,{"b":"x"}],"c":{}}"#),
        ..Default::default()
    };
    let reads = Reads::new(need.clone());
    let doc = Doc::record(parts, [], &reads);
    let value = doc.root().get("value").unwrap();
    assert_eq!(value.member_count(), 2);
    assert_eq!(value.shape(), Shape::Object);
    let items: Vec<_> = value.get("a").unwrap().items().collect();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0].shape(),
        Shape::Scalar(Scalar::Number(&Number::from(1)))
    );
    assert_eq!(
        items[1].get("b").map(Json::shape),
        Some(Shape::Scalar(Scalar::Str("x")))
    );
    assert_eq!(value.get("c").map(Json::member_count), Some(0));
    assert!(value.get("zz").is_none());
    assert_eq!(value.get("a").unwrap().members().count(), 0);
}

mod syntax {
    use proptest::prelude::*;

    use super::*;

    /// Tokens that exercise number and string decoding; the last ones are the documented
    /// exceptions (rejected by serde_json's full parse, accepted where skipped).
    const TOKENS: &[&str] = &[
        "0",
        "-0",
        "7",
        "-12",
        "1.5",
        "-0.0",
        "1e3",
        "2E-2",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "0.1",
        "123456789.000001",
        "true",
        "false",
        "null",
        r#""""#,
        r#""plain""#,
        r#""é ü 😀""#,
        r#""tab\tquote\"slash\/""#,
        r#""\u00e9""#,
        // A broken copy of these can be out of range or a lone surrogate.
        "1.7976931348623157e308",
        r#""\ud83d\ude00""#,
        "1e400",
        r#""\ud800""#,
    ];
    const EXCEPTIONS: usize = 4;

    fn arb_value(tokens: &'static [&'static str]) -> impl Strategy<Value = String> {
        let leaf = prop::sample::select(tokens.to_vec()).prop_map(str::to_owned);
        leaf.prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(
                    (prop::sample::select(vec!["a", "b", "c", "a\\u0062"]), inner),
                    0..4
                )
                .prop_map(|members| {
                    let members: Vec<String> = members
                        .iter()
                        .map(|(k, v)| format!("\"{k}\" : {v}"))
                        .collect();
                    format!("{{ {} }}", members.join(",\n"))
                }),
            ]
        })
    }

    /// A JSON text, then maybe broken: a byte removed, a significant character inserted, or
    /// the end cut off.
    fn arb_text(tokens: &'static [&'static str]) -> impl Strategy<Value = String> {
        let insert = prop::sample::select(vec![
            "{", "}", "[", "]", ",", ":", "\"", "\\", " ", "0", "-", ".", "e", "x", "\u{1}", "é",
        ]);
        (
            arb_value(tokens),
            0usize..4,
            any::<prop::sample::Index>(),
            insert,
        )
            .prop_map(|(text, how, at, extra)| {
                let cut = |t: &str| {
                    let mut i = at.index(t.len() + 1);
                    while !t.is_char_boundary(i) {
                        i -= 1;
                    }
                    i
                };
                let i = cut(&text);
                match how {
                    0 => text,
                    1 => {
                        let mut t = text.clone();
                        if i < t.len() {
                            t.remove(i);
                        }
                        t
                    }
                    2 => format!("{}{extra}{}", &text[..i], &text[i..]),
                    _ => text[..i].to_owned(),
                }
            })
    }

    fn parsed(text: &str, need: &Need) -> Value {
        let parts = RecordParts {
            topic: "t",
            value: Some(text.as_bytes()),
            ..Default::default()
        };
        let reads = Reads::new(need.clone());
        let doc = Doc::record(parts, [], &reads);
        doc.root().to_value(&Need::All)["value"].clone()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Read whole, a text is what serde_json makes of it: the same value, or (not JSON)
        /// the text as a string.
        #[test]
        fn whole_texts_read_as_serde_json_reads_them(text in arb_text(TOKENS)) {
            let full = RecordView::from_parts(
                RecordParts { topic: "t", value: Some(text.as_bytes()), ..Default::default() },
                [],
            );
            prop_assert_eq!(&parsed(&text, &need(&["value"])), &full.view()["value"], "{}", text);
        }

        /// Read in part, a text gives the members read of serde_json's value, or (not JSON)
        /// the text as a string, whatever is skipped.
        #[test]
        fn partly_read_texts_give_the_members_of_serde_jsons_value(
            text in arb_text(&TOKENS[..TOKENS.len() - EXCEPTIONS]),
            paths in prop::sample::subsequence(vec!["value.a", "value.b.c", "value.c.a"], 0..3),
        ) {
            // Not JSON to serde_json's full parse but to its syntax check: a documented
            // exception (a mutation can make a number out of range), decided by where it is.
            prop_assume!(
                serde_json::from_str::<Value>(&text).is_ok()
                    || serde_json::from_str::<serde::de::IgnoredAny>(&text).is_err()
            );
            let need = need(&paths);
            let full = RecordView::from_parts(
                RecordParts { topic: "t", value: Some(text.as_bytes()), ..Default::default() },
                [],
            );
            let mut expected = project(full.view(), &need);
            let expected = expected["value"].take();
            prop_assert_eq!(&parsed(&text, &need), &expected, "{} {:?}", text, paths);
        }
    }

    #[test]
    fn nesting_is_limited_where_built_and_not_where_skipped() {
        let deep = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
        assert!(parsed(&deep(127), &Need::All).is_array());
        assert_eq!(parsed(&deep(128), &Need::All), json!(deep(128)));
        let skipped = format!(r#"{{"a":1,"z":{}}}"#, deep(100_000));
        assert_eq!(parsed(&skipped, &need(&["value.a"])), json!({"a": 1}));
        // Objects and arrays alternating, deeper than the skip's 64-level word: closed in
        // order it is JSON, with one bracket swapped it is not.
        let mixed = |levels: usize, swap: bool| {
            let mut t = String::from(r#"{"a":1,"z":"#);
            for _ in 0..levels {
                t.push_str(r#"[{"k":"#);
            }
            t.push('0');
            for i in 0..levels {
                t.push_str(if swap && i == levels / 2 { "]}" } else { "}]" });
            }
            t.push('}');
            t
        };
        assert_eq!(
            parsed(&mixed(150, false), &need(&["value.a"])),
            json!({"a": 1})
        );
        let broken = mixed(150, true);
        assert_eq!(parsed(&broken, &need(&["value.a"])), json!(broken));
    }
}
