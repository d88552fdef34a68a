//! Reading only what the filters read.
//!
//! A route table knows every field path its filters can look at: the leaf paths of its
//! EventBridge patterns and, for each JSONPath filter, the longest plain-name prefix of each
//! query in it (see [`crate::matcher::jsonpath_anchor::read_prefixes`]). The document parsed for
//! matching ([`crate::doc::Doc`]) keeps the whole subtree at each of those paths, looks through
//! arrays on the way (patterns and the index do), and skips every other member without building
//! it. Skipped bytes are still checked to be JSON, so a value is JSON, a string or absent
//! exactly as in the full view; filters see the same values at every path they read and match
//! the same records (a property test compares both on random tables and records).
//!
//! One difference is left on purpose: serde_json's full parse also rejects numbers beyond the
//! `f64` range, `\u` escapes of lone surrogates and nesting beyond its recursion limit, which a
//! syntax check of skipped members (ours, as serde_json's own) accepts: they are valid RFC 8259.
//! Such a record is JSON in the filters' view when those parts lie in members no filter reads.

use crate::json::NO_KEY;

/// The parts of a JSON document that are read: all of it, or some members of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Need {
    /// The whole subtree.
    All,
    /// Only these members (of an object; of each object in an array).
    Fields(Fields),
}

/// The members read of an object, with a table that finds one by name in one probe.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Fields {
    list: Vec<Field>,
    /// A perfect hash of the names' words and lengths into 256 slots (see [`Fields::slot`]):
    /// `slots[h]` is the field's index + 1, 0 where none. `None` when no multiplier tried
    /// separates every name (then names are compared in turn).
    table: Option<(u64, Box<[u8; 256]>)>,
}

impl std::ops::Deref for Fields {
    type Target = [Field];

    fn deref(&self) -> &[Field] {
        &self.list
    }
}

impl Fields {
    fn slot(multiplier: u64, word: u64, len: usize) -> usize {
        ((word ^ (len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).wrapping_mul(multiplier) >> 56)
            as usize
    }

    fn push(&mut self, field: Field) {
        self.list.push(field);
        self.table = self.perfect_hash();
    }

    /// Tries a fixed series of odd multipliers for one under which no two names share a slot.
    fn perfect_hash(&self) -> Option<(u64, Box<[u8; 256]>)> {
        if self.list.len() > 32 {
            return None;
        }
        let mut multiplier = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..256 {
            let mut slots = Box::new([0u8; 256]);
            let fits = self.list.iter().enumerate().all(|(i, f)| {
                let slot = &mut slots[Fields::slot(multiplier, f.word, f.name.len())];
                let free = *slot == 0;
                *slot = i as u8 + 1;
                free
            });
            if fits {
                return Some((multiplier, slots));
            }
            multiplier = multiplier
                .wrapping_mul(0x5851_f42d_4c95_7f2d)
                .wrapping_add(2)
                | 1;
        }
        None
    }
}

/// A member that is read, and what is read of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Field {
    pub(crate) name: String,
    pub(crate) read: Need,
    /// The name's first eight bytes (zero-padded): see [`Need::field`].
    word: u64,
}

/// The first eight bytes of `name` (zero-padded), little-endian: a name compares with a field's
/// in one or two steps.
pub(crate) fn name_word(name: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    let head = &name[..name.len().min(8)];
    word[..head.len()].copy_from_slice(head);
    u64::from_le_bytes(word)
}

static ALL: Need = Need::All;

/// What a route table reads of records, with the record view's own members (topic, partition,
/// offset, timestamp, key, headers, value) looked up once, not for every record: for each, its
/// [`crate::json::Json::key`] when it is read.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Reads {
    pub(crate) need: Need,
    pub(crate) topic: Option<u32>,
    pub(crate) partition: Option<u32>,
    pub(crate) offset: Option<u32>,
    pub(crate) timestamp: Option<u32>,
    pub(crate) key: Option<u32>,
    pub(crate) headers: Option<u32>,
    pub(crate) value: Option<u32>,
}

impl Reads {
    pub(crate) fn new(need: Need) -> Reads {
        let key = |name: &str| need.find(name).map(|(key, _)| key);
        Reads {
            topic: key("topic"),
            partition: key("partition"),
            offset: key("offset"),
            timestamp: key("timestamp"),
            key: key("key"),
            headers: key("headers"),
            value: key("value"),
            need,
        }
    }

    /// What is read of the member whose key [`Reads::new`] found.
    pub(crate) fn of(&self, key: u32) -> &Need {
        match &self.need {
            Need::All => &ALL,
            Need::Fields(fields) => &fields[key as usize].read,
        }
    }
}

impl Default for Need {
    fn default() -> Need {
        Need::nothing()
    }
}

impl Need {
    /// Nothing is read yet.
    pub fn nothing() -> Need {
        Need::Fields(Fields::default())
    }

    /// Also reads the whole subtree at `path`.
    pub fn add(&mut self, path: &[String]) {
        let Need::Fields(children) = self else {
            return;
        };
        let Some((head, rest)) = path.split_first() else {
            *self = Need::All;
            return;
        };
        let at = match children.iter().position(|f| f.name == *head) {
            Some(at) => at,
            None => {
                children.push(Field {
                    name: head.clone(),
                    read: Need::nothing(),
                    word: name_word(head.as_bytes()),
                });
                children.len() - 1
            }
        };
        children.list[at].read.add(rest);
    }

    /// The index of the field called `name` (whose [`name_word`] is `word`), when this reads
    /// fields and that is one.
    #[inline(always)]
    pub(crate) fn field(&self, name: &[u8], word: u64) -> Option<usize> {
        let Need::Fields(fields) = self else {
            return None;
        };
        let is = |f: &Field| {
            f.word == word
                && f.name.len() == name.len()
                && (name.len() <= 8 || f.name.as_bytes()[8..] == name[8..])
        };
        match &fields.table {
            Some((multiplier, slots)) => {
                let at = usize::from(slots[Fields::slot(*multiplier, word, name.len())]);
                let i = at.checked_sub(1)?;
                is(&fields.list[i]).then_some(i)
            }
            None => fields.iter().position(is),
        }
    }

    /// What is read of member `name` and its [`crate::json::Json::key`] (its field index, or
    /// [`NO_KEY`] when the whole of this is read); `None` when nothing is.
    pub(crate) fn find(&self, name: &str) -> Option<(u32, &Need)> {
        match self {
            Need::All => Some((NO_KEY, &ALL)),
            Need::Fields(fields) => self
                .field(name.as_bytes(), name_word(name.as_bytes()))
                .map(|i| (i as u32, &fields[i].read)),
        }
    }

    /// What is read of member `name`; `None` when nothing is.
    pub fn member(&self, name: &str) -> Option<&Need> {
        self.find(name).map(|(_, read)| read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shorter_path_covers_longer_ones() {
        let mut n = Need::nothing();
        n.add(&["a".into(), "b".into()]);
        n.add(&["a".into()]);
        assert_eq!(n.member("a"), Some(&Need::All));
        assert_eq!(n.member("b"), None);
        n.add(&[]);
        assert_eq!(n, Need::All);
        assert_eq!(n.member("anything"), Some(&Need::All));
    }

    /// Finds `name` as the parser does.
    fn field(need: &Need, name: &str) -> Option<usize> {
        need.field(name.as_bytes(), name_word(name.as_bytes()))
    }

    #[test]
    fn fields_are_found_by_name_with_and_without_the_hash_table() {
        // Names sharing their first eight bytes, names of every length up to 20, the empty
        // name; then past 32 fields, where names are compared in turn.
        let mut names: Vec<String> = vec![
            "customer_id".into(),
            "customer_name".into(),
            "customer".into(),
            "".into(),
        ];
        names.extend((1..=20).map(|len| "abcdefghijklmnopqrstu"[..len].to_string()));
        names.extend((0..20).map(|i| format!("field_{i}")));
        let mut need = Need::nothing();
        for (count, name) in names.iter().enumerate() {
            need.add(std::slice::from_ref(name));
            let Need::Fields(fields) = &need else {
                panic!("reads fields");
            };
            assert_eq!(fields.table.is_some(), count < 32, "{count} fields");
            for (i, known) in names[..=count].iter().enumerate() {
                assert_eq!(
                    field(&need, known),
                    Some(i),
                    "{known:?} among {}",
                    count + 1
                );
            }
            for other in [
                "customer_",
                "customer_idx",
                "abcdefghijklmnopqrstuv",
                "field_20",
                "x",
            ] {
                assert_eq!(field(&need, other), None, "{other:?}");
            }
        }
        assert_eq!(field(&Need::All, "a"), None);
    }
}
