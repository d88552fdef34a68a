//! Lanes: the FIFO of one (partition, target), split into sub-lanes by the ordering setting.
//!
//! Each sub-lane is one task that repeatedly takes a batch (up to `max_records`, `max_bytes`,
//! or whatever arrived within `max_wait` of the first record), delivers it with the route's
//! retry policy, and marks each record finished (delivered or dead-lettered) in its
//! partition's progress. One batch is in flight per sub-lane:
//! - `ordering: partition`: one sub-lane — strict offset order;
//! - `ordering: key`: `concurrency` sub-lanes, chosen by a hash of the key — order per key;
//! - `ordering: none`: `concurrency` sub-lanes, round robin.
//!
//! Lanes of different targets share nothing but the partition's progress counters, so a slow
//! or failing target never delays another. How a batch is delivered, retried, split and
//! dead-lettered is in [`deliver`].

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::Duration;

use fanout_router::{DeliverySettings, Ordering};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;

use crate::dlq::DeadLetters;
use crate::health::TargetHealth;
use crate::partition::PartitionShared;
use crate::target::{DeliveryRecord, Target};
use crate::telemetry::TargetMetrics;

mod deliver;

pub(crate) use deliver::panic_message;

/// Counters of one target, across partitions.
#[derive(Debug, Default)]
pub struct TargetStats {
    /// Records delivered.
    pub delivered: AtomicU64,
    /// Records dead-lettered.
    pub dead_lettered: AtomicU64,
    /// Record re-attempts (a record sent again after a failure counts once per retry).
    pub retried: AtomicU64,
    /// Batches attempted.
    pub attempts: AtomicU64,
}

/// What every lane of one target shares.
pub(crate) struct TargetRuntime {
    pub target: Arc<dyn Target>,
    pub route: String,
    pub name: String,
    pub settings: DeliverySettings,
    pub stats: Arc<TargetStats>,
    pub metrics: TargetMetrics,
    pub health: Arc<TargetHealth>,
}

/// Engine-wide lane settings.
pub(crate) struct LaneEnv {
    pub dlq: Arc<dyn DeadLetters>,
    pub attempt_timeout: Duration,
}

/// The sub-lanes of one (partition, target).
pub(crate) struct Lane {
    senders: Vec<(mpsc::UnboundedSender<Arc<DeliveryRecord>>, Arc<Queued>)>,
    ordering: Ordering,
    next: usize,
}

/// What a sub-lane's queue holds, and how much more the batch being collected takes: the
/// sender wakes the sub-lane once the batch can be completed, not for every record.
#[derive(Debug)]
struct Queued {
    records: AtomicUsize,
    bytes: AtomicUsize,
    /// Room left in the batch waiting for records (`usize::MAX`: none is waiting).
    room_records: AtomicUsize,
    room_bytes: AtomicUsize,
    full: Notify,
}

impl Queued {
    fn new() -> Queued {
        Queued {
            records: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
            room_records: AtomicUsize::new(usize::MAX),
            room_bytes: AtomicUsize::new(usize::MAX),
            full: Notify::new(),
        }
    }

    /// Would what is queued complete the waiting batch?
    fn fills_room(&self) -> bool {
        self.records.load(SeqCst) >= self.room_records.load(SeqCst)
            || self.bytes.load(SeqCst) >= self.room_bytes.load(SeqCst)
    }

    fn added(&self, size: usize) {
        self.records.fetch_add(1, SeqCst);
        self.bytes.fetch_add(size, SeqCst);
        if self.fills_room() {
            self.full.notify_one();
        }
    }

    fn taken(&self, size: usize) {
        self.records.fetch_sub(1, SeqCst);
        self.bytes.fetch_sub(size, SeqCst);
    }
}

impl Lane {
    pub fn start(
        target: Arc<TargetRuntime>,
        env: Arc<LaneEnv>,
        partition: Arc<PartitionShared>,
        tasks: &mut JoinSet<()>,
    ) -> Lane {
        let count = match target.settings.ordering {
            Ordering::Partition => 1,
            Ordering::Key | Ordering::None => target.settings.concurrency.get(),
        };
        let senders = (0..count)
            .map(|_| {
                let (tx, rx) = mpsc::unbounded_channel();
                let queued = Arc::new(Queued::new());
                let sub = SubLane {
                    target: target.clone(),
                    env: env.clone(),
                    partition: partition.clone(),
                    queued: queued.clone(),
                };
                tasks.spawn(sub.run(rx));
                (tx, queued)
            })
            .collect();
        Lane {
            senders,
            ordering: target.settings.ordering,
            next: 0,
        }
    }

    /// Queues a record on its sub-lane.
    pub fn push(&mut self, record: Arc<DeliveryRecord>) {
        let index = match self.ordering {
            Ordering::Partition => 0,
            Ordering::Key => {
                let mut h = DefaultHasher::new();
                record.key.hash(&mut h);
                (h.finish() % self.senders.len() as u64) as usize
            }
            Ordering::None => {
                self.next = (self.next + 1) % self.senders.len();
                self.next
            }
        };
        // A closed sub-lane means the partition is being given up: the record stays
        // unfinished and therefore uncommitted.
        let (sender, queued) = &self.senders[index];
        let size = record.size();
        if sender.send(record).is_ok() {
            queued.added(size);
        }
    }
}

impl Drop for Lane {
    /// Closes the queues and wakes sub-lanes waiting for more: they deliver what they hold.
    fn drop(&mut self) {
        for (sender, queued) in self.senders.drain(..) {
            drop(sender);
            queued.full.notify_one();
        }
    }
}

struct SubLane {
    target: Arc<TargetRuntime>,
    env: Arc<LaneEnv>,
    partition: Arc<PartitionShared>,
    queued: Arc<Queued>,
}

/// How a batch's attempts ended.
enum Ended {
    /// Every record is delivered or dead-lettered.
    Finished,
    /// The partition was given up first: what is left stays uncommitted.
    Abandoned,
}

impl SubLane {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Arc<DeliveryRecord>>) {
        let mut carry: Option<Arc<DeliveryRecord>> = None;
        loop {
            let first = match carry.take() {
                Some(r) => r,
                None => tokio::select! {
                    r = rx.recv() => match r {
                        Some(r) => {
                            self.queued.taken(r.size());
                            r
                        }
                        None => return,
                    },
                    () = self.partition.cancel.cancelled() => return,
                },
            };
            let batch = self.collect(first, &mut rx, &mut carry).await;
            if let Ended::Abandoned = self.deliver(batch).await {
                return;
            }
        }
    }

    /// Fills a batch after its first record, within the batch limits: takes what is queued,
    /// then waits until the queue holds the rest of a full batch or `max_wait` has passed
    /// since the first record (woken once, not per record), and takes again.
    async fn collect(
        &self,
        first: Arc<DeliveryRecord>,
        rx: &mut mpsc::UnboundedReceiver<Arc<DeliveryRecord>>,
        carry: &mut Option<Arc<DeliveryRecord>>,
    ) -> Vec<Arc<DeliveryRecord>> {
        let limits = self.target.settings.batch;
        let (max_records, max_bytes) = (limits.max_records.get(), limits.max_bytes.get());
        let mut bytes = first.size();
        let mut batch = vec![first];
        let wait = tokio::time::sleep(limits.max_wait);
        tokio::pin!(wait);
        loop {
            while batch.len() < max_records {
                let record = match rx.try_recv() {
                    Ok(r) => r,
                    Err(mpsc::error::TryRecvError::Empty) => break,
                    Err(mpsc::error::TryRecvError::Disconnected) => return batch,
                };
                self.queued.taken(record.size());
                if bytes + record.size() > max_bytes {
                    *carry = Some(record);
                    return batch;
                }
                bytes += record.size();
                batch.push(record);
            }
            // Full (a record larger than `max_bytes` alone fills a batch), or out of time.
            if batch.len() >= max_records || bytes >= max_bytes || wait.is_elapsed() {
                return batch;
            }
            let q = &self.queued;
            q.room_records.store(max_records - batch.len(), SeqCst);
            q.room_bytes.store(max_bytes - bytes, SeqCst);
            // A record queued before the room was published did not wake anyone: look again.
            if !q.fills_room() {
                tokio::select! {
                    biased;
                    () = q.full.notified() => {}
                    () = &mut wait => {}
                }
            }
            q.room_records.store(usize::MAX, SeqCst);
            q.room_bytes.store(usize::MAX, SeqCst);
        }
    }
}

#[cfg(test)]
mod tests;
