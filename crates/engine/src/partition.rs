//! State of one assigned partition: its progress, its lanes, and the token that gives it up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use fanout_router::TargetId;
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
}

impl PartitionShared {
    pub fn progress(&self) -> MutexGuard<'_, PartitionProgress> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn finish(&self, offset: i64) {
        self.progress().finish(offset);
    }
}

/// Consumer-side state of an assigned partition.
pub(crate) struct PartitionState {
    pub shared: Arc<PartitionShared>,
    pub lanes: HashMap<TargetId, Lane>,
    pub tasks: JoinSet<()>,
    pub paused: bool,
    pub last_committed: Option<i64>,
}

impl PartitionState {
    pub fn new(partition: i32) -> Self {
        PartitionState {
            shared: Arc::new(PartitionShared {
                partition,
                progress: Mutex::new(PartitionProgress::default()),
                cancel: CancellationToken::new(),
            }),
            lanes: HashMap::new(),
            tasks: JoinSet::new(),
            paused: false,
            last_committed: None,
        }
    }
}
