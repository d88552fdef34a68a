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

/// The parts of a JSON document that are read: all of it, or some members of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Need {
    /// The whole subtree.
    All,
    /// Only these members (of an object; of each object in an array).
    Fields(Vec<(String, Need)>),
}

static ALL: Need = Need::All;

impl Default for Need {
    fn default() -> Need {
        Need::nothing()
    }
}

impl Need {
    /// Nothing is read yet.
    pub fn nothing() -> Need {
        Need::Fields(Vec::new())
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
        let at = match children.iter().position(|(name, _)| name == head) {
            Some(at) => at,
            None => {
                children.push((head.clone(), Need::nothing()));
                children.len() - 1
            }
        };
        children[at].1.add(rest);
    }

    /// What is read of member `name`; `None` when nothing is.
    pub fn member(&self, name: &str) -> Option<&Need> {
        match self {
            Need::All => Some(&ALL),
            Need::Fields(children) => children.iter().find(|(n, _)| n == name).map(|(_, c)| c),
        }
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
}
