//! What the router benchmarks' corpora share: a deterministic generator and the record type,
//! with the record's parts as the router takes them.
#![allow(dead_code)] // each corpus uses part of the generator

use fanout_router::{RecordParts, RecordView, RouteId, RouteTable};

/// SplitMix64: small, fast, deterministic.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A float in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// An index drawn by `weights` (not necessarily normalised).
    pub fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len() - 1
    }

    /// A float in `[lo, hi)` rounded to `decimals` places.
    pub fn float(&mut self, lo: f64, hi: f64, decimals: i32) -> f64 {
        let scale = 10f64.powi(decimals);
        ((lo + self.unit() * (hi - lo)) * scale).round() / scale
    }
}

/// One Kafka record as the consumer receives it.
pub struct KafkaRecord {
    /// Partition number.
    pub partition: i32,
    /// Offset in the partition.
    pub offset: i64,
    /// Broker timestamp (ms).
    pub timestamp: i64,
    /// Key bytes (an id: UTF-8, not JSON).
    pub key: Vec<u8>,
    /// Headers, in order.
    pub headers: Vec<(String, Vec<u8>)>,
    /// Value bytes: a JSON object.
    pub value: Vec<u8>,
}

impl KafkaRecord {
    /// The record's parts and headers on `topic`, as the router takes them.
    pub fn parts<'r>(
        &'r self,
        topic: &'r str,
    ) -> (
        RecordParts<'r>,
        impl Iterator<Item = (&'r str, Option<&'r [u8]>)>,
    ) {
        let parts = RecordParts {
            topic,
            partition: self.partition,
            offset: self.offset,
            timestamp: Some(self.timestamp),
            key: Some(&self.key),
            value: Some(&self.value),
        };
        let headers = self
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), Some(value.as_slice())));
        (parts, headers)
    }

    /// The complete record view.
    pub fn view(&self, topic: &str) -> RecordView {
        let (parts, headers) = self.parts(topic);
        RecordView::from_parts(parts, headers)
    }

    /// What the engine does: matches the record's parts, parsing only what `table`'s filters
    /// read.
    pub fn match_parts(&self, topic: &str, table: &RouteTable, out: &mut Vec<RouteId>) {
        let (parts, headers) = self.parts(topic);
        table.match_parts(parts, headers, out);
    }
}
