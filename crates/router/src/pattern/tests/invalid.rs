//! Patterns rejected at load, with the path and what is allowed there.

use super::{InvalidCase, check_invalid};

pub(super) const CASES_COUNT: usize = STRUCTURE.len()
    + STRING_OPERATORS.len()
    + ANYTHING_BUT.len()
    + NUMERIC.len()
    + CIDR_AND_EXISTS.len()
    + OR.len();

#[rustfmt::skip]
const STRUCTURE: &[InvalidCase] = &[
    ("pattern must be an object, not an array", r#"[{"a":[1]}]"#, "$", "must be a JSON object"),
    ("pattern must be an object, not a string", r#""x""#, "$", "found a string"),
    ("pattern must be an object, not null", "null", "$", "found null"),
    ("empty pattern is rejected (choice)", "{}", "$", "empty object is not allowed"),
    ("empty nested object is rejected (choice)", r#"{"d":{}}"#, "$.d", "empty object is not allowed"),
    ("leaf must be an array, not a string", r#"{"a":"x"}"#, "$.a", "must be an array of allowed values"),
    ("leaf must be an array, not a number", r#"{"a":1}"#, "$.a", "found a number"),
    ("leaf must be an array, not null", r#"{"a":null}"#, "$.a", "found null"),
    ("leaf must be an array, not a boolean", r#"{"a":true}"#, "$.a", "found a boolean"),
    ("empty leaf array is rejected", r#"{"a":[]}"#, "$.a", "empty array is not allowed"),
    ("empty leaf array deep inside", r#"{"d":{"e":{"a":[]}}}"#, "$.d.e.a", "empty array is not allowed"),
    ("nested arrays in a leaf are rejected", r#"{"a":[["x"]]}"#, "$.a[0]", "nested arrays are not allowed"),
    ("unknown operator, with a hint", r#"{"a":[{"prefx":"x"}]}"#, "$.a[0].prefx", "unknown operator `prefx` (did you mean `prefix`?)"),
    ("unknown operator lists what is allowed", r#"{"a":[{"contains":"x"}]}"#, "$.a[0].contains", "allowed: prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, cidr, exists"),
    ("$or is not an operator", r#"{"a":[{"$or":[1,2]}]}"#, "$.a[0]['$or']", "unknown operator `$or`"),
    ("empty operator object is rejected", r#"{"a":[{}]}"#, "$.a[0]", "empty operator object"),
    ("one operator per object: prefix with suffix", r#"{"a":[{"prefix":"a","suffix":"b"}]}"#, "$.a[0]", "exactly one operator, found 2"),
    ("one operator per object: operands still checked", r#"{"a":[{"prefix":1,"suffix":"b"}]}"#, "$.a[0].prefix", "`prefix` takes a string"),
    ("problem paths index into the leaf array", r#"{"a":["ok",{"bogus":1}]}"#, "$.a[1].bogus", "unknown operator `bogus`"),
    ("problem paths bracket names that are not identifiers", r#"{"detail-type":"x"}"#, "$['detail-type']", "must be an array"),
    ("problem paths escape quotes in names", r#"{"it's":"x"}"#, r"$['it\'s']", "must be an array"),
    ("problem paths reach deep operands", r#"{"value":{"amount":[{"numeric":[">",1,"<=","x"]}]}}"#, "$.value.amount[0].numeric[3]", "expected a number after `<=`"),
];

#[rustfmt::skip]
const STRING_OPERATORS: &[InvalidCase] = &[
    ("prefix takes a string", r#"{"a":[{"prefix":5}]}"#, "$.a[0].prefix", r#"`prefix` takes a string or {"equals-ignore-case": "..."}"#),
    ("prefix object only takes equals-ignore-case", r#"{"a":[{"prefix":{"wildcard":"x"}}]}"#, "$.a[0].prefix.wildcard", "`wildcard` is not allowed here"),
    ("prefix equals-ignore-case takes a string", r#"{"a":[{"prefix":{"equals-ignore-case":1}}]}"#, "$.a[0].prefix['equals-ignore-case']", "`equals-ignore-case` takes a string, found a number"),
    ("suffix takes a string, not an array", r#"{"a":[{"suffix":["x"]}]}"#, "$.a[0].suffix", "found an array"),
    ("suffix object takes one key", r#"{"a":[{"suffix":{"equals-ignore-case":"x","prefix":"y"}}]}"#, "$.a[0].suffix", "found an object with 2 keys"),
    ("equals-ignore-case takes a string", r#"{"a":[{"equals-ignore-case":1}]}"#, "$.a[0]['equals-ignore-case']", "takes a string, found a number"),
    ("equals-ignore-case takes a string, not a list", r#"{"a":[{"equals-ignore-case":["x"]}]}"#, "$.a[0]['equals-ignore-case']", "found an array"),
    ("wildcard rejects consecutive stars", r#"{"a":[{"wildcard":"a**b"}]}"#, "$.a[0].wildcard", "consecutive `*` at character 1"),
    ("wildcard rejects escapes other than star and backslash", r#"{"a":[{"wildcard":"a\\b"}]}"#, "$.a[0].wildcard", "invalid escape `\\b`"),
    ("wildcard rejects a trailing backslash", r#"{"a":[{"wildcard":"ab\\"}]}"#, "$.a[0].wildcard", "trailing `\\`"),
    ("wildcard takes a string", r#"{"a":[{"wildcard":5}]}"#, "$.a[0].wildcard", "`wildcard` takes a string"),
];

#[rustfmt::skip]
const ANYTHING_BUT: &[InvalidCase] = &[
    ("anything-but rejects booleans", r#"{"a":[{"anything-but":true}]}"#, "$.a[0]['anything-but']", "`anything-but` takes a string, a number"),
    ("anything-but rejects null", r#"{"a":[{"anything-but":null}]}"#, "$.a[0]['anything-but']", "found null"),
    ("anything-but rejects an empty list", r#"{"a":[{"anything-but":[]}]}"#, "$.a[0]['anything-but']", "list is empty"),
    ("anything-but lists are all strings or all numbers", r#"{"a":[{"anything-but":["a",1]}]}"#, "$.a[0]['anything-but']", "mixes strings and numbers"),
    ("anything-but lists take no booleans", r#"{"a":[{"anything-but":["a",true]}]}"#, "$.a[0]['anything-but'][1]", "found a boolean"),
    ("anything-but lists take no operator objects", r#"{"a":[{"anything-but":[{"prefix":"x"}]}]}"#, "$.a[0]['anything-but'][0]", "found an object"),
    ("anything-but numbers respect the numeric range", r#"{"a":[{"anything-but":6e9}]}"#, "$.a[0]['anything-but']", "out of range"),
    ("anything-but numbers respect six decimals", r#"{"a":[{"anything-but":[1,1.1234567]}]}"#, "$.a[0]['anything-but'][1]", "7 decimal places"),
    ("anything-but object: unknown operator with hint", r#"{"a":[{"anything-but":{"prefx":"x"}}]}"#, "$.a[0]['anything-but'].prefx", "did you mean `prefix`?"),
    ("anything-but object: numeric is not allowed", r#"{"a":[{"anything-but":{"numeric":[">",1]}}]}"#, "$.a[0]['anything-but'].numeric", "`numeric` cannot be used inside `anything-but`"),
    ("anything-but object takes exactly one key", r#"{"a":[{"anything-but":{"prefix":"a","suffix":"b"}}]}"#, "$.a[0]['anything-but']", "exactly one of prefix, suffix, equals-ignore-case, wildcard, found 2 keys"),
    ("anything-but object must not be empty", r#"{"a":[{"anything-but":{}}]}"#, "$.a[0]['anything-but']", "found 0 keys"),
    ("anything-but prefix must not be empty", r#"{"a":[{"anything-but":{"prefix":""}}]}"#, "$.a[0]['anything-but'].prefix", "empty `prefix` is not allowed"),
    ("anything-but suffix list must not hold an empty suffix", r#"{"a":[{"anything-but":{"suffix":["x",""]}}]}"#, "$.a[0]['anything-but'].suffix[1]", "empty `suffix` is not allowed"),
    ("anything-but prefix takes strings", r#"{"a":[{"anything-but":{"prefix":1}}]}"#, "$.a[0]['anything-but'].prefix", "takes a string or a non-empty array of strings"),
    ("anything-but prefix list must not be empty", r#"{"a":[{"anything-but":{"prefix":[]}}]}"#, "$.a[0]['anything-but'].prefix", "non-empty array"),
    ("anything-but equals-ignore-case list takes strings", r#"{"a":[{"anything-but":{"equals-ignore-case":["a",1]}}]}"#, "$.a[0]['anything-but']['equals-ignore-case'][1]", "values must be strings"),
    ("anything-but wildcard is validated", r#"{"a":[{"anything-but":{"wildcard":"a**"}}]}"#, "$.a[0]['anything-but'].wildcard", "consecutive `*`"),
    ("anything-but wildcard list is validated", r#"{"a":[{"anything-but":{"wildcard":["ok*","a\\x"]}}]}"#, "$.a[0]['anything-but'].wildcard[1]", "invalid escape"),
];

#[rustfmt::skip]
const NUMERIC: &[InvalidCase] = &[
    ("numeric takes an array", r#"{"a":[{"numeric":5}]}"#, "$.a[0].numeric", "`numeric` takes one comparison"),
    ("numeric array must not be empty", r#"{"a":[{"numeric":[]}]}"#, "$.a[0].numeric", "found an empty array"),
    ("numeric: odd count, operator without value", r#"{"a":[{"numeric":[">",0,"<"]}]}"#, "$.a[0].numeric[2]", "`<` needs a number after it"),
    ("numeric: lone operator", r#"{"a":[{"numeric":["<"]}]}"#, "$.a[0].numeric[0]", "needs a number"),
    ("numeric: unknown comparison", r#"{"a":[{"numeric":["=>",5]}]}"#, "$.a[0].numeric[0]", "unknown comparison `=>`; allowed: =, <, <=, >, >="),
    ("numeric: comparison must be a string", r#"{"a":[{"numeric":[5,">"]}]}"#, "$.a[0].numeric[0]", "expected a comparison"),
    ("numeric: operand must be a number", r#"{"a":[{"numeric":[">","5"]}]}"#, "$.a[0].numeric[1]", "expected a number after `>`, found a string"),
    ("numeric: wrong operator order", r#"{"a":[{"numeric":["<",5,">",0]}]}"#, "$.a[0].numeric[0]", "starts with its lower bound"),
    ("numeric: second comparison must be an upper bound", r#"{"a":[{"numeric":[">",0,">",5]}]}"#, "$.a[0].numeric[2]", "must be `<` or `<=`"),
    ("numeric: = stands alone", r#"{"a":[{"numeric":["=",5,"<",6]}]}"#, "$.a[0].numeric[0]", "found `=`"),
    ("numeric: lower bound above upper bound", r#"{"a":[{"numeric":[">",10,"<",5]}]}"#, "$.a[0].numeric", "lower bound 10 must be less than upper bound 5"),
    ("numeric: equal bounds make no range", r#"{"a":[{"numeric":[">=",5,"<=",5]}]}"#, "$.a[0].numeric", "lower bound 5 must be less than upper bound 5"),
    ("numeric: too many elements", r#"{"a":[{"numeric":[">",0,"<",5,"<",6]}]}"#, "$.a[0].numeric[4]", "too many elements"),
    ("numeric: above the documented range", r#"{"a":[{"numeric":[">",5000000001]}]}"#, "$.a[0].numeric[1]", "out of range; numeric matching accepts values from -5e9 to 5e9"),
    ("numeric: below the documented range", r#"{"a":[{"numeric":["<",-6e9]}]}"#, "$.a[0].numeric[1]", "out of range"),
    ("numeric: upper bound above the documented range", r#"{"a":[{"numeric":[">",0,"<",1e10]}]}"#, "$.a[0].numeric[3]", "out of range"),
    ("numeric: more than six decimal places", r#"{"a":[{"numeric":["=",0.0000001]}]}"#, "$.a[0].numeric[1]", "7 decimal places; numeric matching accepts at most 6"),
];

#[rustfmt::skip]
const CIDR_AND_EXISTS: &[InvalidCase] = &[
    ("cidr takes a string", r#"{"a":[{"cidr":5}]}"#, "$.a[0].cidr", "`cidr` takes a string"),
    ("cidr needs a prefix length", r#"{"a":[{"cidr":"10.0.0.1"}]}"#, "$.a[0].cidr", "has no `/`"),
    ("cidr needs a valid IPv4 address", r#"{"a":[{"cidr":"10.0.0.256/24"}]}"#, "$.a[0].cidr", "is not an IPv4 or IPv6 address"),
    ("cidr takes no host names", r#"{"a":[{"cidr":"example.com/24"}]}"#, "$.a[0].cidr", "is not an IPv4 or IPv6 address"),
    ("cidr IPv4 prefix length at most 32", r#"{"a":[{"cidr":"10.0.0.0/33"}]}"#, "$.a[0].cidr", "from 0 to 32"),
    ("cidr IPv6 prefix length at most 128", r#"{"a":[{"cidr":"2001:db8::/129"}]}"#, "$.a[0].cidr", "from 0 to 128"),
    ("cidr prefix length is not negative", r#"{"a":[{"cidr":"10.0.0.0/-1"}]}"#, "$.a[0].cidr", "is not a whole number"),
    ("cidr prefix length has no sign", r#"{"a":[{"cidr":"10.0.0.0/+8"}]}"#, "$.a[0].cidr", "is not a whole number"),
    ("cidr prefix length is not empty", r#"{"a":[{"cidr":"10.0.0.0/"}]}"#, "$.a[0].cidr", "is not a whole number"),
    ("cidr has one slash", r#"{"a":[{"cidr":"10.0.0.0/8/8"}]}"#, "$.a[0].cidr", "is not a whole number"),
    ("exists takes a boolean, not a string", r#"{"a":[{"exists":"true"}]}"#, "$.a[0].exists", "`exists` takes true or false, found a string"),
    ("exists takes a boolean, not null", r#"{"a":[{"exists":null}]}"#, "$.a[0].exists", "found null"),
];

#[rustfmt::skip]
const OR: &[InvalidCase] = &[
    ("$or takes an array", r#"{"$or":{"a":[1]}}"#, "$['$or']", "`$or` takes an array of at least two pattern objects"),
    ("$or needs at least two elements", r#"{"$or":[{"a":[1]}]}"#, "$['$or']", "found 1 element(s)"),
    ("$or must not be empty", r#"{"$or":[]}"#, "$['$or']", "found 0 element(s)"),
    ("$or elements are objects", r#"{"$or":[{"a":[1]},[1]]}"#, "$['$or'][1]", "must be a pattern object, found an array"),
    ("$or elements must not be empty", r#"{"$or":[{"a":[1]},{}]}"#, "$['$or'][1]", "empty object is not allowed"),
    ("operator names are not field names inside $or", r#"{"$or":[{"numeric":[1]},{"prefix":["abc"]}]}"#, "$['$or'][0].numeric", "is an operator and cannot be a field name inside `$or`"),
    ("operator names are not field names deeper inside $or", r#"{"$or":[{"a":{"exists":[true]}},{"b":[1]}]}"#, "$['$or'][0].a.exists", "cannot be a field name inside `$or`"),
    ("$or inside a field needs two elements", r#"{"d":{"$or":[{"a":[1]}]}}"#, "$.d['$or']", "at least two"),
    ("problems inside $or branches are reported", r#"{"$or":[{"a":[]},{"b":[1]}]}"#, "$['$or'][0].a", "empty array is not allowed"),
];

#[test]
fn structure() {
    check_invalid(STRUCTURE);
}

#[test]
fn string_operators() {
    check_invalid(STRING_OPERATORS);
}

#[test]
fn anything_but() {
    check_invalid(ANYTHING_BUT);
}

#[test]
fn numeric() {
    check_invalid(NUMERIC);
}

#[test]
fn cidr_and_exists() {
    check_invalid(CIDR_AND_EXISTS);
}

#[test]
fn or() {
    check_invalid(OR);
}
