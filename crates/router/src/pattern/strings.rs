//! String matchers: case-insensitive comparisons and `wildcard` globs.

/// A string folded to lower case once, at compile time, for
/// `equals-ignore-case` and the `prefix`/`suffix` ignore-case forms.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Folded(String);

impl Folded {
    pub(crate) fn new(text: &str) -> Folded {
        Folded(folded_chars(text).collect())
    }

    /// The folded text.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// `text` equals this string, ignoring case.
    pub(crate) fn equals(&self, text: &str) -> bool {
        folded_chars(text).eq(self.0.chars())
    }

    /// `text` starts with this string, ignoring case.
    pub(crate) fn is_prefix_of(&self, text: &str) -> bool {
        let mut event = folded_chars(text);
        self.0.chars().all(|c| event.next() == Some(c))
    }

    /// `text` ends with this string, ignoring case.
    pub(crate) fn is_suffix_of(&self, text: &str) -> bool {
        let mut event = text.chars().rev().flat_map(|c| c.to_lowercase().rev());
        self.0.chars().rev().all(|c| event.next() == Some(c))
    }
}

/// Lower-cases without allocating (some characters fold to several).
fn folded_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    text.chars().flat_map(char::to_lowercase)
}

/// A compiled `wildcard` value: literal pieces separated by `*`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Wildcard {
    /// Always at least one piece; `n` pieces means `n - 1` stars.
    pieces: Vec<String>,
}

impl Wildcard {
    /// Parses a wildcard value. `*` matches any run of characters (also
    /// none), `\*` is a literal star and `\\` a literal backslash. As in
    /// aws/event-ruler, two consecutive `*` and any other escape are errors.
    pub(crate) fn parse(text: &str) -> Result<Wildcard, String> {
        let mut pieces = vec![String::new()];
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '*' => {
                    if matches!(chars.peek(), Some((_, '*'))) {
                        return Err(format!(
                            "consecutive `*` at character {at} of {text:?}; one `*` already matches any run of characters"
                        ));
                    }
                    pieces.push(String::new());
                }
                '\\' => match chars.next() {
                    Some((_, escaped @ ('*' | '\\'))) => push_char(&mut pieces, escaped),
                    Some((_, other)) => {
                        return Err(format!(
                            "invalid escape `\\{other}` at character {at} of {text:?}; only `\\*` (literal star) and `\\\\` (literal backslash) are allowed"
                        ));
                    }
                    None => {
                        return Err(format!(
                            "trailing `\\` at character {at} of {text:?}; write `\\\\` for a literal backslash"
                        ));
                    }
                },
                other => push_char(&mut pieces, other),
            }
        }
        Ok(Wildcard { pieces })
    }

    /// The literal pieces between the stars (one more than there are stars).
    pub(crate) fn pieces(&self) -> &[String] {
        &self.pieces
    }

    /// `text` matches the whole glob.
    pub(crate) fn matches(&self, text: &str) -> bool {
        let (first, rest) = match self.pieces.split_first() {
            Some(split) => split,
            None => return false,
        };
        let Some((last, middle)) = rest.split_last() else {
            return text == first;
        };
        if text.len() < first.len() + last.len()
            || !text.starts_with(first.as_str())
            || !text.ends_with(last.as_str())
        {
            return false;
        }
        // Both slice points are char boundaries: they end a matched prefix
        // and start a matched suffix, which do not overlap.
        let mut remaining = &text[first.len()..text.len() - last.len()];
        for piece in middle {
            // Leftmost match is optimal for globs made only of `*`.
            match remaining.find(piece.as_str()) {
                Some(at) => remaining = &remaining[at + piece.len()..],
                None => return false,
            }
        }
        true
    }
}

fn push_char(pieces: &mut [String], c: char) {
    if let Some(piece) = pieces.last_mut() {
        piece.push(c);
    }
}
