//! State of one assigned partition: its progress, its lanes, and the token that gives it up.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use fanout_router::TargetId;
use rustc_hash::FxHashMap;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::lane::Lane;
use crate::watermark::PartitionProgress;

/// What lanes share with the consumer loop.
#[derive(Debug)]
pub(crate) struct PartitionShared {
    pub partition: i32,
    pub progress: Mutex<PartitionProgress>,
    /// Fired when the partition is revoked, or at the shutdown deadline: lanes stop at the
    /// next batch, backoff or DLQ retry, leaving unfinished records uncommitted.
    pub cancel: CancellationToken,
    /// Bytes pending across every partition (this one's pending bytes are part of it while it
    /// lives).
    pub buffered: Arc<AtomicUsize>,
}

impl PartitionShared {
    /// Tracks a fetched record (see [`PartitionProgress::track`]) and counts its bytes in the
    /// shared total when it owes deliveries.
    pub fn track(
        progress: &mut PartitionProgress,
        buffered: &AtomicUsize,
        offset: i64,
        deliveries: u32,
        bytes: usize,
    ) {
        progress.track(offset, deliveries, bytes);
        if deliveries > 0 {
            buffered.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    pub fn progress(&self) -> MutexGuard<'_, PartitionProgress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// One delivery of each of these records is done (see [`PartitionProgress::finish`]).
    pub fn finish(&self, offsets: impl IntoIterator<Item = i64>) {
        let freed = {
            let mut p = self.progress();
            let before = p.pending_bytes();
            for offset in offsets {
                p.finish(offset);
            }
            before - p.pending_bytes()
        };
        if freed > 0 {
            self.buffered.fetch_sub(freed, Ordering::Relaxed);
        }
    }
}

impl Drop for PartitionShared {
    /// A partition given up with records still pending: they no longer count.
    fn drop(&mut self) {
        let left = self.progress().pending_bytes();
        self.buffered.fetch_sub(left, Ordering::Relaxed);
    }
}

/// Consumer-side state of an assigned partition.
pub(crate) struct PartitionState {
    pub shared: Arc<PartitionShared>,
    pub lanes: FxHashMap<TargetId, Lane>,
    pub tasks: JoinSet<()>,
    pub paused: bool,
    /// The last offset the broker confirmed as committed.
    pub committed: Option<i64>,
}

impl PartitionState {
    pub fn new(partition: i32, buffered: Arc<AtomicUsize>) -> Self {
        PartitionState {
            shared: Arc::new(PartitionShared {
                partition,
                progress: Mutex::new(PartitionProgress::default()),
                cancel: CancellationToken::new(),
                buffered,
            }),
            lanes: FxHashMap::default(),
            tasks: JoinSet::new(),
            paused: false,
            committed: None,
        }
    }
}
