//! A fast, non-cryptographic hasher for the index's maps.
//!
//! The maps are built once from the route table and only looked up with record values, so an
//! adversary who controls records cannot make them grow or rehash: a lookup costs at most the
//! probe length the table's own keys produced. That makes a simple multiply-rotate hash (the
//! idea of rustc's FxHash, with a final mix so hashbrown's top and bottom bits both vary) safe
//! here and several times faster than SipHash on short strings.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A `HashMap` with [`FastHasher`].
pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Keys compared in turn, up to this many; a hash map beyond.
const FEW: usize = 8;

/// A read-only map for lookups with record values: the few keys most index paths have are
/// compared in turn (a length check rejects most without reading them), which is cheaper than
/// hashing the record's value; more keys go into a [`FastMap`].
#[derive(Debug, Clone)]
pub(crate) enum Lookup<K, V> {
    Few(Box<[(K, V)]>),
    Many(FastMap<K, V>),
}

impl<K, V> Default for Lookup<K, V> {
    fn default() -> Self {
        Lookup::Few(Box::default())
    }
}

impl<K: Hash + Eq, V> FromIterator<(K, V)> for Lookup<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        let entries: Vec<(K, V)> = entries.into_iter().collect();
        if entries.len() <= FEW {
            Lookup::Few(entries.into())
        } else {
            Lookup::Many(entries.into_iter().collect())
        }
    }
}

impl<K: Hash + Eq, V> Lookup<K, V> {
    #[inline]
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self {
            Lookup::Few(entries) => entries
                .iter()
                .find(|(k, _)| k.borrow() == key)
                .map(|(_, v)| v),
            Lookup::Many(map) => map.get(key),
        }
    }
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// Multiply-rotate over 8-byte words, mixed at the end.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl FastHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FastHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.add(u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        // murmur3's 64-bit finalizer.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_and_many_keys_are_found_alike() {
        for n in [0, 1, FEW, FEW + 1, 100] {
            let lookup: Lookup<Box<str>, usize> =
                (0..n).map(|i| (format!("key-{i}").into(), i)).collect();
            assert_eq!(matches!(lookup, Lookup::Few(_)), n <= FEW, "{n} keys");
            for i in 0..n {
                assert_eq!(lookup.get(format!("key-{i}").as_str()), Some(&i));
            }
            assert_eq!(lookup.get("key-"), None);
            assert_eq!(lookup.get(format!("key-{n}").as_str()), None);
        }
    }
}
