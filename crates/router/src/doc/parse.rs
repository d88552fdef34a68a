//! The JSON parser behind [`Doc`]: builds the members a [`Need`] reads, skips the rest.
//!
//! It accepts exactly the texts serde_json accepts (RFC 8259: no trailing commas, comments,
//! control characters in strings or leading zeros) and reads every value as serde_json's `Value`
//! would, so the parsed document and the full record view agree. To make that so by
//! construction, the rare cases are handed to serde_json itself: strings with escapes and
//! numbers that are not plain integers are decoded by it from their token. What is skipped is
//! only checked for syntax, as serde_json's own skipping does (see [`crate::projection`] for
//! what that lets through). Nesting in what is built stops at serde_json's limit (127 levels);
//! skipping is iterative, so deep nesting in skipped members cannot overflow the stack.

use std::borrow::Cow;

use serde_json::Number;

use super::{Doc, EMPTY, Item, Names};
use crate::projection::{Need, name_word};

/// The text is not JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotJson;

type Parsed<T> = Result<T, NotJson>;

/// Containers that serde_json builds nested inside one another, at most (its recursion limit).
const MAX_DEPTH: u32 = 127;

/// Parses `text` (a whole key or value) as a node named `name`, building what `need` reads.
pub(super) fn value<'a>(
    doc: &mut Doc<'a>,
    text: &'a str,
    need: &'a Need,
    name: &'static str,
) -> Parsed<u32> {
    let mut p = Parser {
        doc,
        text,
        at: 0,
        depth: 0,
    };
    let node = p.value(need, name.into())?;
    match p.peek() {
        None => Ok(node),
        Some(_) => Err(NotJson), // trailing characters
    }
}

/// Whether `text` is one JSON value (RFC 8259), as the parser checks what it skips: numbers of
/// any size, any `\u` escape and any nesting are accepted, as serde_json's syntax check does.
/// Linear in the text, whatever its shape.
pub(crate) fn is_json(text: &str) -> bool {
    let mut doc = Doc {
        slots: super::spare_slots(),
    };
    let mut p = Parser {
        doc: &mut doc,
        text,
        at: 0,
        depth: 0,
    };
    p.skip().is_ok() && p.peek().is_none()
}

struct Parser<'d, 'a> {
    doc: &'d mut Doc<'a>,
    text: &'a str,
    at: usize,
    /// Containers being built around the current position.
    depth: u32,
}

impl<'a> Parser<'_, 'a> {
    /// The next byte that is not whitespace, without taking it.
    fn peek(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&b) = bytes.get(self.at) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(b);
            }
            self.at += 1;
        }
        None
    }

    /// Takes `byte` after optional whitespace.
    fn expect(&mut self, byte: u8) -> Parsed<()> {
        if self.peek() == Some(byte) {
            self.at += 1;
            Ok(())
        } else {
            Err(NotJson)
        }
    }

    fn value(&mut self, need: &'a Need, name: Cow<'a, str>) -> Parsed<u32> {
        let item = match self.peek().ok_or(NotJson)? {
            b'{' => return self.object(need, name),
            b'[' => return self.array(need, name),
            b'"' => Item::Str(self.string()?),
            b't' => self.word("true").map(|()| Item::Bool(true))?,
            b'f' => self.word("false").map(|()| Item::Bool(false))?,
            b'n' => self.word("null").map(|()| Item::Null)?,
            b'-' | b'0'..=b'9' => Item::Number(self.number()?),
            _ => return Err(NotJson),
        };
        Ok(self.doc.push(name, item))
    }

    fn enter(&mut self) -> Parsed<()> {
        self.depth += 1;
        self.at += 1; // the opening bracket
        if self.depth > MAX_DEPTH {
            return Err(NotJson);
        }
        Ok(())
    }

    /// Past the closing bracket of the container being built.
    fn leave(&mut self) {
        self.at += 1;
        self.depth -= 1;
    }

    /// At the start of a container's contents: takes `close` when the container is empty.
    fn empty(&mut self, close: u8) -> bool {
        let empty = self.peek() == Some(close);
        if empty {
            self.leave();
        }
        empty
    }

    /// After a member or element: true at `,` (another follows), false at `close` (taken: the
    /// container ends).
    #[inline(always)]
    fn another(&mut self, close: u8) -> Parsed<bool> {
        match self.peek() {
            Some(b',') => {
                self.at += 1;
                Ok(true)
            }
            Some(b) if b == close => {
                self.leave();
                Ok(false)
            }
            _ => Err(NotJson),
        }
    }

    fn object(&mut self, need: &'a Need, name: Cow<'a, str>) -> Parsed<u32> {
        self.enter()?;
        let node = self.doc.push(name, Item::Object(EMPTY));
        if self.empty(b'}') {
            return Ok(node);
        }
        // Which read members were seen (the first 64 by index): a member seen once needs no
        // search for an earlier one of the same name (a repeated member: the last wins).
        let mut seen = 0u64;
        let mut names = Names::default();
        loop {
            if self.peek() != Some(b'"') {
                return Err(NotJson);
            }
            let start = self.at;
            let escaped = self.skip_string()?;
            let end = self.at;
            self.expect(b':')?;
            match need {
                Need::All => {
                    let key = self.decoded(start, end, escaped)?;
                    let child = self.value(need, key)?;
                    self.doc.set_member(node, child, &mut names);
                }
                Need::Fields(fields) => {
                    let field = if escaped {
                        let key = self.decoded(start, end, escaped)?;
                        need.field(key.as_bytes(), name_word(key.as_bytes()))
                    } else {
                        let (first, last) = (start + 1, end - 1);
                        need.field(
                            &self.text.as_bytes()[first..last],
                            self.name_word_at(first, last),
                        )
                    };
                    match field {
                        None => self.skip()?,
                        Some(i) => {
                            let field = &fields[i];
                            let child = self.value(&field.read, field.name.as_str().into())?;
                            self.doc.slots[child as usize].key = i as u32;
                            let bit = 1u64.checked_shl(i as u32).unwrap_or(0);
                            if bit != 0 && seen & bit == 0 {
                                seen |= bit;
                                names.added(&self.doc.slots, child);
                                self.doc.append(node, child);
                            } else {
                                self.doc.set_member(node, child, &mut names);
                            }
                        }
                    }
                }
            }
            if !self.another(b'}')? {
                return Ok(node);
            }
        }
    }

    fn array(&mut self, need: &'a Need, name: Cow<'a, str>) -> Parsed<u32> {
        self.enter()?;
        let node = self.doc.push(name, Item::Array(EMPTY));
        if self.empty(b']') {
            return Ok(node);
        }
        loop {
            // Arrays are looked through: each element is read as the array is.
            let child = self.value(need, "".into())?;
            self.doc.append(node, child);
            if !self.another(b']')? {
                return Ok(node);
            }
        }
    }

    /// Takes `true`, `false` or `null`.
    fn word(&mut self, word: &str) -> Parsed<()> {
        let here = self.text.as_bytes().get(self.at..self.at + word.len());
        if here.is_some_and(|here| here.iter().zip(word.bytes()).all(|(a, b)| *a == b)) {
            self.at += word.len();
            Ok(())
        } else {
            Err(NotJson)
        }
    }

    /// A string at `"`: borrowed from the text when it has no escapes, else decoded by
    /// serde_json.
    fn string(&mut self) -> Parsed<Cow<'a, str>> {
        let start = self.at;
        let escaped = self.skip_string()?;
        self.decoded(start, self.at, escaped)
    }

    /// The string whose token (quotes included) is `text[start..end]`.
    #[inline(always)]
    fn decoded(&self, start: usize, end: usize, escaped: bool) -> Parsed<Cow<'a, str>> {
        let token = &self.text[start..end];
        if escaped {
            serde_json::from_str::<String>(token)
                .map(Cow::Owned)
                .map_err(|_| NotJson)
        } else {
            Ok(Cow::Borrowed(&token[1..token.len() - 1]))
        }
    }

    /// [`name_word`] of `text[first..last]`, read as one word when the text goes on for eight
    /// bytes (as it does after all but the last member names of a record).
    #[inline(always)]
    fn name_word_at(&self, first: usize, last: usize) -> u64 {
        let bytes = self.text.as_bytes();
        let len = last - first;
        match bytes.get(first..first + 8) {
            Some(eight) => {
                let word = u64::from_le_bytes(eight.try_into().expect("eight bytes"));
                if len >= 8 {
                    word
                } else {
                    word & ((1u64 << (8 * len)) - 1)
                }
            }
            None => name_word(&bytes[first..last]),
        }
    }

    /// Moves past a string at `"`, checking its syntax; true if it has escapes.
    ///
    /// This and the other per-token helpers marked `inline(always)` are inlined into the object
    /// and skip loops: as calls, their register saves were about a tenth of the parse
    /// (callgrind: 16.7k → 14.8k instructions per record of the e2e benchmark).
    #[inline(always)]
    fn skip_string(&mut self) -> Parsed<bool> {
        let bytes = self.text.as_bytes();
        let mut at = self.at + 1;
        let mut escaped = false;
        loop {
            at += plain_run(&bytes[at..]);
            match bytes.get(at) {
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    match bytes.get(at + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => at += 2,
                        Some(b'u') => {
                            let hex = bytes.get(at + 2..at + 6).ok_or(NotJson)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(NotJson);
                            }
                            at += 6;
                        }
                        _ => return Err(NotJson),
                    }
                }
                // A control character, or the end of the text.
                _ => return Err(NotJson),
            }
        }
        self.at = at + 1;
        Ok(escaped)
    }

    /// A number: plain integers directly (as serde_json reads them), others by serde_json.
    fn number(&mut self) -> Parsed<Number> {
        let start = self.at;
        let integer = self.skip_number()?;
        let token = &self.text[start..self.at];
        if integer {
            let (negative, digits) = match token.strip_prefix('-') {
                Some(digits) => (true, digits),
                None => (false, token),
            };
            if let Ok(magnitude) = digits.parse::<u64>() {
                if !negative {
                    return Ok(magnitude.into());
                }
                // serde_json: `-0` and magnitudes beyond i64 are floats.
                let negated = (magnitude as i64).wrapping_neg();
                if negated < 0 {
                    return Ok(negated.into());
                }
            }
        }
        serde_json::from_str::<Number>(token).map_err(|_| NotJson)
    }

    /// Moves past a number, checking its syntax; true if it is a plain integer.
    #[inline(always)]
    fn skip_number(&mut self) -> Parsed<bool> {
        let bytes = self.text.as_bytes();
        let mut at = self.at;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        match bytes.get(at) {
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => at += digits(&bytes[at..]),
            _ => return Err(NotJson),
        }
        let mut integer = true;
        if bytes.get(at) == Some(&b'.') {
            integer = false;
            let fraction = digits(&bytes[at + 1..]);
            if fraction == 0 {
                return Err(NotJson);
            }
            at += 1 + fraction;
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            integer = false;
            at += 1;
            if let Some(b'+' | b'-') = bytes.get(at) {
                at += 1;
            }
            let exponent = digits(&bytes[at..]);
            if exponent == 0 {
                return Err(NotJson);
            }
            at += exponent;
        }
        // A leading zero followed by digits ("01") stops after the "0": the digits that follow
        // are then trailing characters, an error wherever the number is.
        self.at = at;
        Ok(integer)
    }

    /// Moves past any value, checking its syntax only (iteratively: nesting is unbounded).
    #[inline(always)]
    fn skip(&mut self) -> Parsed<()> {
        let mut open = Brackets::default();
        loop {
            // At a value.
            match self.peek().ok_or(NotJson)? {
                b'{' => {
                    self.at += 1;
                    if self.peek() == Some(b'}') {
                        self.at += 1;
                    } else {
                        open.push(true);
                        self.skip_key()?;
                        continue;
                    }
                }
                b'[' => {
                    self.at += 1;
                    if self.peek() == Some(b']') {
                        self.at += 1;
                    } else {
                        open.push(false);
                        continue;
                    }
                }
                b'"' => {
                    self.skip_string()?;
                }
                b't' => self.word("true")?,
                b'f' => self.word("false")?,
                b'n' => self.word("null")?,
                b'-' | b'0'..=b'9' => {
                    self.skip_number()?;
                }
                _ => return Err(NotJson),
            }
            // After a value: close containers until one takes another member.
            loop {
                let Some(object) = open.top() else {
                    return Ok(());
                };
                match self.peek() {
                    Some(b',') => {
                        self.at += 1;
                        if object {
                            self.skip_key()?;
                        }
                        break;
                    }
                    Some(b'}') if object => {
                        self.at += 1;
                        open.pop();
                    }
                    Some(b']') if !object => {
                        self.at += 1;
                        open.pop();
                    }
                    _ => return Err(NotJson),
                }
            }
        }
    }

    /// Moves past `"name":`.
    fn skip_key(&mut self) -> Parsed<()> {
        if self.peek() != Some(b'"') {
            return Err(NotJson);
        }
        self.skip_string()?;
        self.expect(b':')
    }
}

/// How many bytes at the start of `bytes` are ASCII digits.
fn digits(bytes: &[u8]) -> usize {
    bytes.iter().take_while(|b| b.is_ascii_digit()).count()
}

/// How many bytes at the start of `bytes` can be inside a string as they are: not `"`, `\` or
/// a control character; the end of `bytes` counts as a control character. Most strings end
/// within 16 bytes, which are read a word at a time; past those, `memchr` finds the next quote
/// or backslash and a loop without exits (which the compiler vectorizes) checks the bytes
/// before it for control characters.
fn plain_run(bytes: &[u8]) -> usize {
    const HEAD: usize = 16;
    let mut at = 0;
    while at < HEAD {
        let Some(word) = bytes.get(at..at + 8) else {
            // Fewer than eight bytes left: past the end reads as zero, a control character.
            let mut last = [0u8; 8];
            last[..bytes.len() - at].copy_from_slice(&bytes[at..]);
            return (at + first_special(u64::from_le_bytes(last))).min(bytes.len());
        };
        let special = first_special(u64::from_le_bytes(word.try_into().expect("eight bytes")));
        if special < 8 {
            return at + special;
        }
        at += 8;
    }
    let rest = &bytes[HEAD..];
    let end = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
    let run = &rest[..end];
    if run.iter().fold(false, |control, &b| control | (b < 0x20)) {
        return HEAD + run.iter().position(|&b| b < 0x20).unwrap_or(end);
    }
    HEAD + end
}

/// The position of the first `"`, `\\` or control character among the eight bytes of `word`
/// (little-endian), or 8.
#[inline]
fn first_special(word: u64) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Flags the bytes that are zero; the lowest flag is exact (borrows only run upwards).
    let zeros = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let found = zeros(word ^ (ONES * u64::from(b'"')))
        | zeros(word ^ (ONES * u64::from(b'\\')))
        | (word.wrapping_sub(ONES * 0x20) & !word & HIGHS);
    found.trailing_zeros() as usize / 8
}

/// The kinds of the containers a skip is inside (true: object), innermost last.
#[derive(Default)]
struct Brackets {
    /// The innermost 64, one bit each.
    bits: u64,
    depth: usize,
    /// Those further out, when deeper than 64.
    outer: Vec<u64>,
}

impl Brackets {
    fn push(&mut self, object: bool) {
        if self.depth > 0 && self.depth.is_multiple_of(64) {
            self.outer.push(self.bits);
            self.bits = 0;
        }
        self.bits = (self.bits << 1) | u64::from(object);
        self.depth += 1;
    }

    fn top(&self) -> Option<bool> {
        (self.depth > 0).then_some(self.bits & 1 == 1)
    }

    fn pop(&mut self) {
        self.depth -= 1;
        self.bits >>= 1;
        if self.depth > 0 && self.depth.is_multiple_of(64) {
            self.bits = self.outer.pop().expect("outer brackets");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::plain_run;
    use proptest::prelude::*;

    /// Byte by byte: the reference for [`plain_run`].
    fn plain_run_naive(bytes: &[u8]) -> usize {
        bytes
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .unwrap_or(bytes.len())
    }

    #[test]
    fn a_special_byte_is_found_at_every_position_of_long_and_short_runs() {
        for len in 0..100 {
            for special in [b'"', b'\\', 0x00, 0x1f] {
                for at in 0..len {
                    let mut bytes = vec![b'x'; len];
                    bytes[at] = special;
                    assert_eq!(plain_run(&bytes), at, "{special:#x} at {at} of {len}");
                }
            }
            let plain = "é€x".repeat(len);
            assert_eq!(plain_run(plain.as_bytes()), plain.len(), "{len}");
        }
    }

    proptest! {
        #[test]
        fn plain_run_agrees_with_a_byte_loop(
            bytes in proptest::collection::vec(
                prop_oneof![8 => 0x20u8..=0xff, 1 => Just(b'"'), 1 => Just(b'\\'), 1 => 0u8..0x20],
                0..200,
            )
        ) {
            prop_assert_eq!(plain_run(&bytes), plain_run_naive(&bytes));
        }
    }
}
