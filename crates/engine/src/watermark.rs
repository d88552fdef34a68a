//! Per-partition progress: which offsets are still owed deliveries, and the offset that is safe
//! to commit.
//!
//! The committable offset is the lowest offset that still has an unfinished delivery (every
//! record below it is delivered, dead-lettered, or matched nothing), or one past the highest
//! offset seen when nothing is pending. Kafka's committed offset is "the next record to read",
//! so that is exactly what gets committed.

use std::collections::BTreeMap;

/// Progress of one partition.
#[derive(Debug, Default)]
pub struct PartitionProgress {
    /// Offset → (deliveries still unfinished, record bytes).
    pending: BTreeMap<i64, (u32, usize)>,
    /// One past the highest offset tracked.
    next: Option<i64>,
    /// Sum of the bytes of pending records.
    pending_bytes: usize,
}

impl PartitionProgress {
    /// Records a fetched record that owes `deliveries` deliveries (0 when it matched no route).
    /// Offsets must be tracked in increasing order.
    pub fn track(&mut self, offset: i64, deliveries: u32, bytes: usize) {
        debug_assert!(self.next.is_none_or(|n| offset >= n), "offsets go forward");
        self.next = Some(offset + 1);
        if deliveries > 0 {
            self.pending.insert(offset, (deliveries, bytes));
            self.pending_bytes += bytes;
        }
    }

    /// Is `offset` past everything tracked so far?
    pub fn is_new(&self, offset: i64) -> bool {
        self.next.is_none_or(|n| offset >= n)
    }

    /// One delivery of `offset` finished (delivered or dead-lettered). Returns true when that
    /// was the record's last one.
    pub fn finish(&mut self, offset: i64) -> bool {
        let Some(entry) = self.pending.get_mut(&offset) else {
            return false;
        };
        entry.0 -= 1;
        if entry.0 == 0 {
            let (_, bytes) = self.pending.remove(&offset).unwrap_or_default();
            self.pending_bytes -= bytes;
            true
        } else {
            false
        }
    }

    /// The offset to commit: every record below it has finished. `None` before any record.
    pub fn committable(&self) -> Option<i64> {
        self.pending.keys().next().copied().or(self.next)
    }

    /// Records still owed deliveries.
    pub fn pending_records(&self) -> usize {
        self.pending.len()
    }

    /// Bytes of the records still owed deliveries.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn nothing_pending_commits_past_the_last_record() {
        let mut p = PartitionProgress::default();
        assert_eq!(p.committable(), None);
        p.track(5, 0, 10);
        assert_eq!(p.committable(), Some(6));
        p.track(6, 2, 10);
        p.track(7, 1, 10);
        assert_eq!(p.committable(), Some(6));
        assert!(p.finish(7));
        assert_eq!(
            p.committable(),
            Some(6),
            "a later record finishing does not move past 6"
        );
        assert!(!p.finish(6));
        assert!(p.finish(6));
        assert_eq!(p.committable(), Some(8));
        assert_eq!((p.pending_records(), p.pending_bytes()), (0, 0));
    }

    /// One step of a random run: a record arrives owing n deliveries, or one pending delivery
    /// (picked by index) finishes — delivered, retried then delivered, or dead-lettered: all
    /// the same to the watermark, which only learns "finished".
    #[derive(Debug, Clone)]
    enum Step {
        Arrive { gap: i64, deliveries: u32 },
        Finish(usize),
    }

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        prop::collection::vec(
            prop_oneof![
                (0i64..3, 0u32..4).prop_map(|(gap, deliveries)| Step::Arrive { gap, deliveries }),
                any::<prop::sample::Index>().prop_map(|i| Step::Finish(i.index(1 << 16))),
            ],
            1..200,
        )
    }

    proptest! {
        /// The watermark equals the simple model: the smallest offset with unfinished
        /// deliveries, else one past the last offset seen; and it never moves backwards.
        #[test]
        fn watermark_agrees_with_model(steps in steps()) {
            let mut progress = PartitionProgress::default();
            // Model: every (offset, delivery) still owed, as a flat list.
            let mut owed: Vec<i64> = Vec::new();
            let mut seen: Option<i64> = None;
            let mut next_offset = 0i64;
            let mut last_commit = None;
            for step in steps {
                match step {
                    Step::Arrive { gap, deliveries } => {
                        next_offset += gap; // compacted topics and transactions leave gaps
                        progress.track(next_offset, deliveries, 100);
                        owed.extend(std::iter::repeat_n(next_offset, deliveries as usize));
                        seen = Some(next_offset);
                        next_offset += 1;
                    }
                    Step::Finish(i) => {
                        if owed.is_empty() {
                            continue;
                        }
                        let offset = owed.remove(i % owed.len());
                        let last = !owed.contains(&offset);
                        prop_assert_eq!(progress.finish(offset), last);
                    }
                }
                let model = owed.iter().min().copied().or(seen.map(|s| s + 1));
                prop_assert_eq!(progress.committable(), model);
                prop_assert!(last_commit <= progress.committable(), "never backwards");
                last_commit = progress.committable();
                let mut distinct = owed.clone();
                distinct.sort_unstable();
                distinct.dedup();
                prop_assert_eq!(progress.pending_records(), distinct.len());
                prop_assert_eq!(progress.pending_bytes(), distinct.len() * 100);
            }
        }
    }
}
