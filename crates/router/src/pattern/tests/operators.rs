//! One table per operator, positive and negative cases.

use super::{MatchCase, check_matches};

pub(super) const CASES_COUNT: usize = EXACT.len()
    + NULL_AND_EMPTY.len()
    + PREFIX_SUFFIX.len()
    + IGNORE_CASE.len()
    + WILDCARD.len()
    + ANYTHING_BUT.len()
    + ANYTHING_BUT_ACROSS_TYPES.len()
    + NUMERIC.len()
    + CIDR.len()
    + EXISTS.len();

#[rustfmt::skip]
const EXACT: &[MatchCase] = &[
    ("exact string equal matches", r#"{"source":["aws.ec2"]}"#, r#"{"source":"aws.ec2"}"#, true),
    ("exact string is case sensitive", r#"{"source":["aws.ec2"]}"#, r#"{"source":"AWS.EC2"}"#, false),
    ("exact string differs", r#"{"source":["aws.ec2"]}"#, r#"{"source":"aws.s3"}"#, false),
    ("values in a leaf array are ORed", r#"{"state":["pending","running"]}"#, r#"{"state":"running"}"#, true),
    ("values in a leaf array are ORed, none equal", r#"{"state":["pending","running"]}"#, r#"{"state":"stopped"}"#, false),
    ("fields are ANDed, all match", r#"{"a":["x"],"b":["y"]}"#, r#"{"a":"x","b":"y"}"#, true),
    ("fields are ANDed, one differs", r#"{"a":["x"],"b":["y"]}"#, r#"{"a":"x","b":"z"}"#, false),
    ("fields are ANDed, one missing", r#"{"a":["x"],"b":["y"]}"#, r#"{"a":"x"}"#, false),
    ("other event fields are ignored", r#"{"a":["x"]}"#, r#"{"a":"x","zzz":[1,2,{"q":3}]}"#, true),
    ("numbers compare by value: 300 = 300.0", r#"{"n":[300]}"#, r#"{"n":300.0}"#, true),
    ("numbers compare by value: 300 = 3e2", r#"{"n":[300]}"#, r#"{"n":3e2}"#, true),
    ("numbers compare by value: 3.018e2 = 301.8", r#"{"n":[3.018e2]}"#, r#"{"n":301.8}"#, true),
    ("numbers compare by value: negative", r#"{"n":[-5]}"#, r#"{"n":-5.0}"#, true),
    ("numbers compare by value: different", r#"{"n":[300]}"#, r#"{"n":301}"#, false),
    ("large integers compare exactly (account ids)", r#"{"account":[123456789012]}"#, r#"{"account":123456789012}"#, true),
    ("large integers compare exactly, off by one", r#"{"account":[123456789012]}"#, r#"{"account":123456789013}"#, false),
    ("number pattern does not match a numeric string", r#"{"n":[300]}"#, r#"{"n":"300"}"#, false),
    ("string pattern does not match a number", r#"{"n":["300"]}"#, r#"{"n":300}"#, false),
    ("true matches true", r#"{"b":[true]}"#, r#"{"b":true}"#, true),
    ("true does not match false", r#"{"b":[true]}"#, r#"{"b":false}"#, false),
    ("true does not match the string \"true\"", r#"{"b":[true]}"#, r#"{"b":"true"}"#, false),
    ("exact value does not match an object", r#"{"a":["x"]}"#, r#"{"a":{"b":"x"}}"#, false),
    ("exact value does not match a missing field", r#"{"a":["x"]}"#, r#"{}"#, false),
    ("mixed kinds in one leaf array", r#"{"a":["x",1,true,null]}"#, r#"{"a":1}"#, true),
    ("unicode strings compare exactly", r#"{"city":["Zürich"]}"#, r#"{"city":"Zürich"}"#, true),
];

#[rustfmt::skip]
const NULL_AND_EMPTY: &[MatchCase] = &[
    ("null matches an explicit null", r#"{"r":[null]}"#, r#"{"r":null}"#, true),
    ("null does not match a missing field", r#"{"r":[null]}"#, r#"{}"#, false),
    ("null does not match the empty string", r#"{"r":[null]}"#, r#"{"r":""}"#, false),
    ("null does not match the string \"null\"", r#"{"r":[null]}"#, r#"{"r":"null"}"#, false),
    ("empty string matches the empty string", r#"{"v":[""]}"#, r#"{"v":""}"#, true),
    ("empty string does not match null", r#"{"v":[""]}"#, r#"{"v":null}"#, false),
    ("empty string does not match a missing field", r#"{"v":[""]}"#, r#"{}"#, false),
    ("empty string does not match a space", r#"{"v":[""]}"#, r#"{"v":" "}"#, false),
];

#[rustfmt::skip]
const PREFIX_SUFFIX: &[MatchCase] = &[
    ("prefix matches the start of a string", r#"{"time":[{"prefix":"2017-10-02"}]}"#, r#"{"time":"2017-10-02T18:43:48Z"}"#, true),
    ("prefix does not match elsewhere", r#"{"time":[{"prefix":"10-02"}]}"#, r#"{"time":"2017-10-02"}"#, false),
    ("prefix is case sensitive", r#"{"r":[{"prefix":"eu-"}]}"#, r#"{"r":"EU-west-1"}"#, false),
    ("prefix equal to the whole string matches", r#"{"r":[{"prefix":"eu-"}]}"#, r#"{"r":"eu-"}"#, true),
    ("prefix only works on strings", r#"{"n":[{"prefix":"12"}]}"#, r#"{"n":123}"#, false),
    ("empty prefix matches every string", r#"{"s":[{"prefix":""}]}"#, r#"{"s":"anything"}"#, true),
    ("empty prefix still needs a string", r#"{"s":[{"prefix":""}]}"#, r#"{"s":null}"#, false),
    ("suffix matches the end of a string", r#"{"f":[{"suffix":".png"}]}"#, r#"{"f":"image.png"}"#, true),
    ("suffix does not match elsewhere", r#"{"f":[{"suffix":".png"}]}"#, r#"{"f":"image.png.jpg"}"#, false),
    ("suffix is case sensitive", r#"{"f":[{"suffix":".png"}]}"#, r#"{"f":"image.PNG"}"#, false),
    ("suffix only works on strings", r#"{"n":[{"suffix":"3"}]}"#, r#"{"n":123}"#, false),
    ("prefix with equals-ignore-case matches any casing", r#"{"s":[{"prefix":{"equals-ignore-case":"EventB"}}]}"#, r#"{"s":"eventbridge"}"#, true),
    ("prefix with equals-ignore-case, upper-case event", r#"{"s":[{"prefix":{"equals-ignore-case":"eventb"}}]}"#, r#"{"s":"EVENTBRIDGE"}"#, true),
    ("prefix with equals-ignore-case, different start", r#"{"s":[{"prefix":{"equals-ignore-case":"eventb"}}]}"#, r#"{"s":"xeventb"}"#, false),
    ("prefix with equals-ignore-case, event too short", r#"{"s":[{"prefix":{"equals-ignore-case":"eventb"}}]}"#, r#"{"s":"Event"}"#, false),
    ("suffix with equals-ignore-case matches any casing", r#"{"f":[{"suffix":{"equals-ignore-case":".png"}}]}"#, r#"{"f":"IMAGE.PNG"}"#, true),
    ("suffix with equals-ignore-case, different end", r#"{"f":[{"suffix":{"equals-ignore-case":".png"}}]}"#, r#"{"f":"image.jpg"}"#, false),
    ("suffix with equals-ignore-case, non-ASCII", r#"{"f":[{"suffix":{"equals-ignore-case":"ÉTÉ"}}]}"#, r#"{"f":"bel été"}"#, true),
];

#[rustfmt::skip]
const IGNORE_CASE: &[MatchCase] = &[
    ("equals-ignore-case matches any casing", r#"{"n":[{"equals-ignore-case":"alice"}]}"#, r#"{"n":"ALICE"}"#, true),
    ("equals-ignore-case mixed casing", r#"{"n":[{"equals-ignore-case":"AlIcE"}]}"#, r#"{"n":"aLiCe"}"#, true),
    ("equals-ignore-case needs the whole string", r#"{"n":[{"equals-ignore-case":"alice"}]}"#, r#"{"n":"alice2"}"#, false),
    ("equals-ignore-case folds non-ASCII letters", r#"{"n":[{"equals-ignore-case":"ÄRGER"}]}"#, r#"{"n":"ärger"}"#, true),
    ("equals-ignore-case only works on strings", r#"{"n":[{"equals-ignore-case":"true"}]}"#, r#"{"n":true}"#, false),
    ("equals-ignore-case empty string", r#"{"n":[{"equals-ignore-case":""}]}"#, r#"{"n":""}"#, true),
];

#[rustfmt::skip]
const WILDCARD: &[MatchCase] = &[
    ("wildcard star matches any run", r#"{"s":[{"wildcard":"Simple*Service"}]}"#, r#"{"s":"SimpleQueueService"}"#, true),
    ("wildcard star matches an empty run", r#"{"s":[{"wildcard":"Simple*Service"}]}"#, r#"{"s":"SimpleService"}"#, true),
    ("wildcard must match the whole string", r#"{"s":[{"wildcard":"Simple*Service"}]}"#, r#"{"s":"SimpleQueueServices"}"#, false),
    ("wildcard is case sensitive", r#"{"s":[{"wildcard":"simple*"}]}"#, r#"{"s":"Simple"}"#, false),
    ("wildcard with several stars", r#"{"p":[{"wildcard":"*/lib/*.so"}]}"#, r#"{"p":"/usr/lib/x.so"}"#, true),
    ("wildcard with several stars, wrong order", r#"{"p":[{"wildcard":"a*b*c"}]}"#, r#"{"p":"acb"}"#, false),
    ("wildcard pieces may not overlap", r#"{"p":[{"wildcard":"ab*ba"}]}"#, r#"{"p":"aba"}"#, false),
    ("wildcard repeated piece", r#"{"p":[{"wildcard":"*a*a*"}]}"#, r#"{"p":"xaxa"}"#, true),
    ("wildcard lone star matches any string", r#"{"p":[{"wildcard":"*"}]}"#, r#"{"p":""}"#, true),
    ("wildcard without star is an exact match", r#"{"p":[{"wildcard":"abc"}]}"#, r#"{"p":"abc"}"#, true),
    ("wildcard escaped star is literal", r#"{"p":[{"wildcard":"a\\*b"}]}"#, r#"{"p":"a*b"}"#, true),
    ("wildcard escaped star does not glob", r#"{"p":[{"wildcard":"a\\*b"}]}"#, r#"{"p":"axb"}"#, false),
    ("wildcard escaped backslash is literal", r#"{"p":[{"wildcard":"C:\\\\*"}]}"#, r#"{"p":"C:\\temp"}"#, true),
    ("wildcard only works on strings", r#"{"p":[{"wildcard":"1*"}]}"#, r#"{"p":123}"#, false),
    ("wildcard with multi-byte characters", r#"{"p":[{"wildcard":"é*ü"}]}"#, r#"{"p":"éaü"}"#, true),
];

#[rustfmt::skip]
const ANYTHING_BUT: &[MatchCase] = &[
    ("anything-but string: other string", r#"{"s":[{"anything-but":"initializing"}]}"#, r#"{"s":"running"}"#, true),
    ("anything-but string: the excluded string", r#"{"s":[{"anything-but":"initializing"}]}"#, r#"{"s":"initializing"}"#, false),
    ("anything-but does not match a missing field", r#"{"s":[{"anything-but":"initializing"}]}"#, r#"{}"#, false),
    ("anything-but string does not match an object", r#"{"s":[{"anything-but":"x"}]}"#, r#"{"s":{"y":"z"}}"#, false),
    ("anything-but number: other number", r#"{"x":[{"anything-but":123}]}"#, r#"{"x":124}"#, true),
    ("anything-but number: equal by value", r#"{"x":[{"anything-but":123}]}"#, r#"{"x":1.23e2}"#, false),
    ("anything-but string list: not listed", r#"{"s":[{"anything-but":["stopped","overloaded"]}]}"#, r#"{"s":"running"}"#, true),
    ("anything-but string list: listed", r#"{"s":[{"anything-but":["stopped","overloaded"]}]}"#, r#"{"s":"overloaded"}"#, false),
    ("anything-but number list: not listed", r#"{"x":[{"anything-but":[100,200,300]}]}"#, r#"{"x":301.8}"#, true),
    ("anything-but number list: listed", r#"{"x":[{"anything-but":[100,200,300]}]}"#, r#"{"x":200}"#, false),
    ("anything-but on an array: some element not excluded", r#"{"x":[{"anything-but":[100,500]}]}"#, r#"{"x":[100,50]}"#, true),
    ("anything-but on an array: every element excluded", r#"{"x":[{"anything-but":[100,500]}]}"#, r#"{"x":[100,500]}"#, false),
    ("anything-but prefix: other prefix", r#"{"r":[{"anything-but":{"prefix":"us-"}}]}"#, r#"{"r":"eu-west-1"}"#, true),
    ("anything-but prefix: excluded prefix", r#"{"r":[{"anything-but":{"prefix":"us-"}}]}"#, r#"{"r":"us-east-1"}"#, false),
    ("anything-but prefix list", r#"{"r":[{"anything-but":{"prefix":["us-","eu-"]}}]}"#, r#"{"r":"eu-west-1"}"#, false),
    ("anything-but prefix does not match a missing field", r#"{"r":[{"anything-but":{"prefix":"us-"}}]}"#, r#"{}"#, false),
    ("anything-but suffix: other suffix", r#"{"f":[{"anything-but":{"suffix":".png"}}]}"#, r#"{"f":"a.jpg"}"#, true),
    ("anything-but suffix: excluded suffix", r#"{"f":[{"anything-but":{"suffix":".png"}}]}"#, r#"{"f":"a.png"}"#, false),
    ("anything-but equals-ignore-case: other value", r#"{"s":[{"anything-but":{"equals-ignore-case":"initializing"}}]}"#, r#"{"s":"running"}"#, true),
    ("anything-but equals-ignore-case: excluded in other casing", r#"{"s":[{"anything-but":{"equals-ignore-case":"initializing"}}]}"#, r#"{"s":"INITIALIZING"}"#, false),
    ("anything-but equals-ignore-case list", r#"{"s":[{"anything-but":{"equals-ignore-case":["a","B"]}}]}"#, r#"{"s":"b"}"#, false),
    ("anything-but equals-ignore-case list: not listed", r#"{"s":[{"anything-but":{"equals-ignore-case":["a","B"]}}]}"#, r#"{"s":"c"}"#, true),
    ("anything-but wildcard: not matching the glob", r#"{"p":[{"anything-but":{"wildcard":"*/lib/*"}}]}"#, r#"{"p":"/usr/bin/x"}"#, true),
    ("anything-but wildcard: matching the glob", r#"{"p":[{"anything-but":{"wildcard":"*/lib/*"}}]}"#, r#"{"p":"/usr/lib/x"}"#, false),
    ("anything-but wildcard list", r#"{"p":[{"anything-but":{"wildcard":["*.png","*.jpg"]}}]}"#, r#"{"p":"a.jpg"}"#, false),
];

/// event-ruler: `anything-but` excludes only the values it lists, of their own kind; a value
/// of another kind is not one of them, so it matches.
#[rustfmt::skip]
const ANYTHING_BUT_ACROSS_TYPES: &[MatchCase] = &[
    ("anything-but across types: number list on a string", r#"{"x":[{"anything-but":[111,222]}]}"#, r#"{"x":"444"}"#, true),
    ("anything-but across types: number list on a numeric string", r#"{"x":[{"anything-but":[111,222]}]}"#, r#"{"x":"111"}"#, true),
    ("anything-but across types: number list on an excluded number", r#"{"x":[{"anything-but":[111,222]}]}"#, r#"{"x":111.0}"#, false),
    ("anything-but across types: string on a number", r#"{"x":[{"anything-but":"dad0"}]}"#, r#"{"x":4}"#, true),
    ("anything-but across types: string on the excluded string", r#"{"x":[{"anything-but":"dad0"}]}"#, r#"{"x":"dad0"}"#, false),
    ("anything-but across types: string on null", r#"{"s":[{"anything-but":"x"}]}"#, r#"{"s":null}"#, true),
    ("anything-but across types: string on a boolean", r#"{"s":[{"anything-but":"x"}]}"#, r#"{"s":false}"#, true),
    ("anything-but across types: string list on a number", r#"{"s":[{"anything-but":["5","6"]}]}"#, r#"{"s":5}"#, true),
    ("anything-but across types: number on null", r#"{"x":[{"anything-but":0}]}"#, r#"{"x":null}"#, true),
    ("anything-but across types: prefix on a number", r#"{"r":[{"anything-but":{"prefix":"us-"}}]}"#, r#"{"r":1}"#, true),
    ("anything-but across types: prefix on an excluded string", r#"{"r":[{"anything-but":{"prefix":"us-"}}]}"#, r#"{"r":"us-1"}"#, false),
    ("anything-but across types: suffix on a boolean", r#"{"f":[{"anything-but":{"suffix":"e"}}]}"#, r#"{"f":true}"#, true),
    ("anything-but across types: equals-ignore-case on a number", r#"{"s":[{"anything-but":{"equals-ignore-case":"1"}}]}"#, r#"{"s":1}"#, true),
    ("anything-but across types: wildcard on null", r#"{"p":[{"anything-but":{"wildcard":"*"}}]}"#, r#"{"p":null}"#, true),
    ("anything-but across types: wildcard star excludes every string", r#"{"p":[{"anything-but":{"wildcard":"*"}}]}"#, r#"{"p":"x"}"#, false),
    ("anything-but across types: any element of another kind", r#"{"x":[{"anything-but":[1]}]}"#, r#"{"x":[1,"1"]}"#, true),
    ("anything-but across types: still needs a leaf value", r#"{"x":[{"anything-but":[1]}]}"#, r#"{"x":{"y":"1"}}"#, false),
];

#[rustfmt::skip]
const NUMERIC: &[MatchCase] = &[
    ("numeric = equal", r#"{"x":[{"numeric":["=",3.018e2]}]}"#, r#"{"x":301.8}"#, true),
    ("numeric = not equal", r#"{"x":[{"numeric":["=",5]}]}"#, r#"{"x":5.000001}"#, false),
    ("numeric < below", r#"{"d":[{"numeric":["<",10]}]}"#, r#"{"d":3}"#, true),
    ("numeric < at the bound", r#"{"d":[{"numeric":["<",10]}]}"#, r#"{"d":10}"#, false),
    ("numeric <= at the bound", r#"{"d":[{"numeric":["<=",10]}]}"#, r#"{"d":10.0}"#, true),
    ("numeric <= above", r#"{"d":[{"numeric":["<=",10]}]}"#, r#"{"d":10.000001}"#, false),
    ("numeric > above", r#"{"d":[{"numeric":[">",0]}]}"#, r#"{"d":0.000001}"#, true),
    ("numeric > at the bound", r#"{"d":[{"numeric":[">",0]}]}"#, r#"{"d":0}"#, false),
    ("numeric >= at the bound", r#"{"d":[{"numeric":[">=",-1]}]}"#, r#"{"d":-1}"#, true),
    ("numeric >= below", r#"{"d":[{"numeric":[">=",-1]}]}"#, r#"{"d":-1.5}"#, false),
    ("numeric range inside", r#"{"c":[{"numeric":[">",0,"<=",5]}]}"#, r#"{"c":5}"#, true),
    ("numeric range open bottom", r#"{"c":[{"numeric":[">",0,"<=",5]}]}"#, r#"{"c":0}"#, false),
    ("numeric range above top", r#"{"c":[{"numeric":[">",0,"<=",5]}]}"#, r#"{"c":5.5}"#, false),
    ("numeric range closed bottom, open top", r#"{"c":[{"numeric":[">=",0,"<",5]}]}"#, r#"{"c":0}"#, true),
    ("numeric range open top", r#"{"c":[{"numeric":[">=",0,"<",5]}]}"#, r#"{"c":5}"#, false),
    ("numeric only matches numbers, not numeric strings", r#"{"c":[{"numeric":[">",0]}]}"#, r#"{"c":"5"}"#, false),
    ("numeric does not match null", r#"{"c":[{"numeric":[">",0]}]}"#, r#"{"c":null}"#, false),
    ("numeric does not match a missing field", r#"{"c":[{"numeric":["<",0]}]}"#, r#"{}"#, false),
    ("numeric accepts operands at the documented limits", r#"{"c":[{"numeric":[">=",-5e9,"<=",5e9]}]}"#, r#"{"c":-5000000000}"#, true),
    ("numeric accepts six decimal places", r#"{"c":[{"numeric":[">",0.000001]}]}"#, r#"{"c":0.000002}"#, true),
    ("numeric event values beyond the documented range compare by value (choice)", r#"{"c":[{"numeric":[">",100]}]}"#, r#"{"c":6e9}"#, true),
    ("numeric event values beyond six decimals compare at full precision (choice)", r#"{"c":[{"numeric":[">",1]}]}"#, r#"{"c":1.0000001}"#, true),
    ("numeric on an array: any element in range", r#"{"c":[{"numeric":[">",10]}]}"#, r#"{"c":[1,2,30]}"#, true),
    ("numeric on an array: no element in range", r#"{"c":[{"numeric":[">",10]}]}"#, r#"{"c":[1,2,3]}"#, false),
    ("numeric conditions in one array are ORed", r#"{"c":[{"numeric":["<",0]},{"numeric":[">",100]}]}"#, r#"{"c":150}"#, true),
    ("numeric conditions in one array are ORed, none hold", r#"{"c":[{"numeric":["<",0]},{"numeric":[">",100]}]}"#, r#"{"c":50}"#, false),
];

#[rustfmt::skip]
const CIDR: &[MatchCase] = &[
    ("cidr IPv4 inside", r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, r#"{"ip":"10.0.0.255"}"#, true),
    ("cidr IPv4 network address", r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, r#"{"ip":"10.0.0.0"}"#, true),
    ("cidr IPv4 outside", r#"{"ip":[{"cidr":"10.0.0.0/24"}]}"#, r#"{"ip":"10.0.1.0"}"#, false),
    ("cidr IPv4 /8", r#"{"ip":[{"cidr":"10.0.0.0/8"}]}"#, r#"{"ip":"10.200.3.4"}"#, true),
    ("cidr IPv4 /32 is a single address (choice)", r#"{"ip":[{"cidr":"192.168.1.7/32"}]}"#, r#"{"ip":"192.168.1.7"}"#, true),
    ("cidr IPv4 /32 other address", r#"{"ip":[{"cidr":"192.168.1.7/32"}]}"#, r#"{"ip":"192.168.1.8"}"#, false),
    ("cidr IPv4 /0 matches every IPv4 address", r#"{"ip":[{"cidr":"0.0.0.0/0"}]}"#, r#"{"ip":"8.8.8.8"}"#, true),
    ("cidr IPv6 inside", r#"{"ip":[{"cidr":"2001:db8::/32"}]}"#, r#"{"ip":"2001:db8:1234::1"}"#, true),
    ("cidr IPv6 outside", r#"{"ip":[{"cidr":"2001:db8::/32"}]}"#, r#"{"ip":"2001:db9::1"}"#, false),
    ("cidr IPv6 written out in full", r#"{"ip":[{"cidr":"2001:db8::/32"}]}"#, r#"{"ip":"2001:0db8:0000:0000:0000:0000:0000:0001"}"#, true),
    ("cidr families do not mix: IPv4 event, IPv6 range", r#"{"ip":[{"cidr":"::/0"}]}"#, r#"{"ip":"10.0.0.1"}"#, false),
    ("cidr families do not mix: IPv6 event, IPv4 range", r#"{"ip":[{"cidr":"0.0.0.0/0"}]}"#, r#"{"ip":"::1"}"#, false),
    ("cidr does not match a non-IP string", r#"{"ip":[{"cidr":"10.0.0.0/8"}]}"#, r#"{"ip":"10.0.0.1.example.com"}"#, false),
    ("cidr does not match an address with a prefix length", r#"{"ip":[{"cidr":"10.0.0.0/8"}]}"#, r#"{"ip":"10.0.0.1/32"}"#, false),
    ("cidr only matches strings", r#"{"ip":[{"cidr":"10.0.0.0/8"}]}"#, r#"{"ip":167772161}"#, false),
    ("cidr with host bits set means its network: inside", r#"{"ip":[{"cidr":"10.0.0.5/24"}]}"#, r#"{"ip":"10.0.0.200"}"#, true),
    ("cidr with host bits set means its network: network address", r#"{"ip":[{"cidr":"10.0.0.5/24"}]}"#, r#"{"ip":"10.0.0.0"}"#, true),
    ("cidr with host bits set means its network: outside", r#"{"ip":[{"cidr":"10.0.0.5/24"}]}"#, r#"{"ip":"10.0.1.5"}"#, false),
    ("cidr with host bits set means its network: IPv6 inside", r#"{"ip":[{"cidr":"2001:db8::1/32"}]}"#, r#"{"ip":"2001:db8:ffff::9"}"#, true),
    ("cidr with host bits set means its network: IPv6 outside", r#"{"ip":[{"cidr":"2001:db8::1/32"}]}"#, r#"{"ip":"2001:db9::1"}"#, false),
    ("cidr with host bits set means its network: /0", r#"{"ip":[{"cidr":"10.1.2.3/0"}]}"#, r#"{"ip":"192.168.0.1"}"#, true),
];

#[rustfmt::skip]
const EXISTS: &[MatchCase] = &[
    ("exists true: field present", r#"{"c":[{"exists":true}]}"#, r#"{"c":5}"#, true),
    ("exists true: field missing", r#"{"c":[{"exists":true}]}"#, r#"{"d":5}"#, false),
    ("exists true: null is a present leaf value (choice)", r#"{"c":[{"exists":true}]}"#, r#"{"c":null}"#, true),
    ("exists true: empty string is present", r#"{"c":[{"exists":true}]}"#, r#"{"c":""}"#, true),
    ("exists true only works on leaf nodes: object value", r#"{"c":[{"exists":true}]}"#, r#"{"c":{"c1":100}}"#, false),
    ("exists true: array of scalars has leaf values", r#"{"c":[{"exists":true}]}"#, r#"{"c":[1]}"#, true),
    ("exists true: empty array has no leaf value (choice)", r#"{"c":[{"exists":true}]}"#, r#"{"c":[]}"#, false),
    ("exists false: field missing", r#"{"c":[{"exists":false}]}"#, r#"{"d":5}"#, true),
    ("exists false: field present", r#"{"c":[{"exists":false}]}"#, r#"{"c":5}"#, false),
    ("exists false: null is present", r#"{"c":[{"exists":false}]}"#, r#"{"c":null}"#, false),
    ("exists false only works on leaf nodes: object value counts as absent", r#"{"c":[{"exists":false}]}"#, r#"{"c":{"c1":100}}"#, true),
    ("exists false: empty array counts as absent (choice)", r#"{"c":[{"exists":false}]}"#, r#"{"c":[]}"#, true),
    ("exists false: array holding a scalar is present", r#"{"c":[{"exists":false}]}"#, r#"{"c":[{"x":1},2]}"#, false),
    ("exists false nested: parent missing", r#"{"detail":{"c":[{"exists":false}]}}"#, r#"{"source":"x"}"#, true),
    ("exists false nested: parent is a scalar", r#"{"detail":{"c":[{"exists":false}]}}"#, r#"{"detail":"x"}"#, true),
    ("exists false nested: present", r#"{"detail":{"c":[{"exists":false}]}}"#, r#"{"detail":{"c":1}}"#, false),
    ("exists ORed with a value", r#"{"c":[{"exists":false},"x"]}"#, r#"{"c":"x"}"#, true),
    ("exists ORed with a value, other value", r#"{"c":[{"exists":false},"x"]}"#, r#"{"c":"y"}"#, false),
];

#[test]
fn exact_values() {
    check_matches(EXACT);
}

#[test]
fn null_and_empty_string() {
    check_matches(NULL_AND_EMPTY);
}

#[test]
fn prefix_and_suffix() {
    check_matches(PREFIX_SUFFIX);
}

#[test]
fn equals_ignore_case() {
    check_matches(IGNORE_CASE);
}

#[test]
fn wildcard() {
    check_matches(WILDCARD);
}

#[test]
fn anything_but() {
    check_matches(ANYTHING_BUT);
}

#[test]
fn anything_but_across_types() {
    check_matches(ANYTHING_BUT_ACROSS_TYPES);
}

#[test]
fn numeric() {
    check_matches(NUMERIC);
}

#[test]
fn cidr() {
    check_matches(CIDR);
}

#[test]
fn exists() {
    check_matches(EXISTS);
}
