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
//! or failing target never delays another.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::time::{Duration, SystemTime};

use fanout_router::{DeliverySettings, OnFailure, Ordering};
use rand::Rng;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::dlq::{DeadLetter, DlqWriter};
use crate::partition::PartitionShared;
use crate::target::{Delivery, DeliveryRecord, Failure, FailureKind, Target};
use crate::telemetry::{DeliveryRetried, RecordDeadLettered, TargetMetrics};

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
}

/// Engine-wide lane settings.
pub(crate) struct LaneEnv {
    pub dlq: Arc<DlqWriter>,
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

/// How a batch's attempts ended for the records still failing.
enum Outcome {
    Finished,
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
            if let Outcome::Abandoned = self.deliver(batch).await {
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

    /// Delivers a batch with retries; each record ends delivered or dead-lettered, unless the
    /// partition is given up first.
    async fn deliver(&self, mut pending: Vec<Arc<DeliveryRecord>>) -> Outcome {
        let t = &*self.target;
        let policy = t.settings.retry;
        let first_attempt = SystemTime::now();
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            t.stats.attempts.fetch_add(1, AtomicOrdering::Relaxed);
            if attempt > 1 {
                t.stats
                    .retried
                    .fetch_add(pending.len() as u64, AtomicOrdering::Relaxed);
            }
            let started = Instant::now();
            let result =
                match tokio::time::timeout(self.env.attempt_timeout, t.target.deliver(&pending))
                    .await
                {
                    Ok(r) => r,
                    Err(_) => Err(Failure::new(
                        FailureKind::Timeout,
                        "AttemptTimeout",
                        format!("no answer within {:?}", self.env.attempt_timeout),
                    )),
                };
            let last_attempt = SystemTime::now();
            t.metrics.attempt_finished(pending.len(), started.elapsed());
            // Split into delivered and failed, keeping batch order.
            let failed: Vec<(Arc<DeliveryRecord>, Failure)> = match result {
                Ok(Delivery::Delivered) => {
                    self.finish_delivered(&pending);
                    return Outcome::Finished;
                }
                Ok(Delivery::Partial(outcomes)) => {
                    let mut failed = Vec::new();
                    let mut delivered = Vec::new();
                    for (i, record) in pending.drain(..).enumerate() {
                        match outcomes.get(i).cloned().unwrap_or_else(|| {
                            Some(Failure::new(
                                FailureKind::InvalidRequest,
                                "MissingOutcome",
                                "the target reported fewer outcomes than records",
                            ))
                        }) {
                            None => delivered.push(record),
                            Some(f) => failed.push((record, f)),
                        }
                    }
                    self.finish_delivered(&delivered);
                    failed
                }
                Err(f) => pending.drain(..).map(|r| (r, f.clone())).collect(),
            };
            let block = t.settings.on_failure == OnFailure::Block;
            let exhausted = attempt >= policy.max_attempts.get();
            let mut retry = Vec::with_capacity(failed.len());
            for (record, failure) in failed {
                let too_old = policy
                    .max_record_age
                    .is_some_and(|age| record_age(&record) > age);
                let reason = if block {
                    None
                } else if !failure.is_retryable() {
                    Some("permanent_error")
                } else if exhausted {
                    Some("attempts_exhausted")
                } else if too_old {
                    Some("record_too_old")
                } else {
                    None
                };
                match reason {
                    None => retry.push((record, failure)),
                    Some(reason) => {
                        let dl = DeadLetter {
                            route: &t.route,
                            target: &t.name,
                            failure: &failure,
                            reason,
                            attempts: attempt,
                            first_attempt,
                            last_attempt,
                        };
                        if !self
                            .env
                            .dlq
                            .write(&record, &dl, &self.partition.cancel)
                            .await
                        {
                            return Outcome::Abandoned;
                        }
                        RecordDeadLettered {
                            target: &t.name,
                            topic: &record.topic,
                            partition: record.partition,
                            offset: record.offset,
                            attempt,
                            reason,
                            failure: &failure,
                        }
                        .emit();
                        t.stats.dead_lettered.fetch_add(1, AtomicOrdering::Relaxed);
                        self.partition.finish([record.offset]);
                    }
                }
            }
            if retry.is_empty() {
                return Outcome::Finished;
            }
            let failure = &retry[0].1;
            if block && exhausted {
                tracing::error!(
                    target = %t.name, partition = self.partition.partition, attempt,
                    offset = retry[0].0.offset, error = %failure,
                    "delivery keeps failing; `on_failure: block` holds the lane until it succeeds"
                );
            } else {
                DeliveryRetried {
                    target: &t.name,
                    partition: self.partition.partition,
                    attempt,
                    records: retry.len(),
                    failure,
                }
                .emit();
            }
            pending = retry.into_iter().map(|(r, _)| r).collect();
            let ceiling = policy.backoff_ceiling(attempt);
            let delay = ceiling.mul_f64(rand::rng().random_range(0.0..=1.0));
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.partition.cancel.cancelled() => return Outcome::Abandoned,
            }
        }
    }

    fn finish_delivered(&self, records: &[Arc<DeliveryRecord>]) {
        self.target
            .stats
            .delivered
            .fetch_add(records.len() as u64, AtomicOrdering::Relaxed);
        self.target.metrics.delivered(records.len());
        self.partition.finish(records.iter().map(|r| r.offset));
    }
}

fn record_age(record: &DeliveryRecord) -> Duration {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64;
    record
        .timestamp
        .map(|ts| Duration::from_millis(now.saturating_sub(ts).max(0) as u64))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use rdkafka::ClientConfig;
    use serde_json::json;

    use super::*;
    use crate::partition::PartitionState;
    use crate::target::TimestampType;

    /// Records each batch's size and when it came.
    struct Batches(Mutex<Vec<(usize, Duration)>>, Instant);

    #[async_trait]
    impl Target for Batches {
        async fn deliver(&self, batch: &[Arc<DeliveryRecord>]) -> Result<Delivery, Failure> {
            self.0.lock().unwrap().push((batch.len(), self.1.elapsed()));
            Ok(Delivery::Delivered)
        }
    }

    fn record(offset: i64, bytes: usize) -> Arc<DeliveryRecord> {
        Arc::new(DeliveryRecord {
            topic: "t".into(),
            partition: 0,
            offset,
            timestamp: None,
            timestamp_type: TimestampType::NotAvailable,
            key: None,
            value: Some(vec![b'x'; bytes]),
            headers: Vec::new(),
        })
    }

    /// A lane of one partition delivering to a target that records its batches.
    fn lane(batch: serde_json::Value) -> (Lane, PartitionState, Arc<Batches>) {
        let routes = json!({"routes": [{"name": "r", "topics": ["t"], "targets": [{"custom": {
            "name": "b", "kind": "test", "delivery": {"batch": batch}
        }}]}]});
        let mut builder = fanout_router::RouteTable::builder();
        builder.add_file("routes.json", &routes.to_string());
        let table = builder.build().unwrap();
        let batches = Arc::new(Batches(Mutex::new(Vec::new()), Instant::now()));
        let producer = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:1")
            .create()
            .unwrap();
        let env = Arc::new(LaneEnv {
            dlq: Arc::new(DlqWriter::new(producer, "dlq".into())),
            attempt_timeout: Duration::from_secs(60),
        });
        let runtime = Arc::new(TargetRuntime {
            target: batches.clone(),
            route: "r".into(),
            name: "r/b".into(),
            settings: table.targets()[0].delivery.clone(),
            stats: Arc::default(),
            metrics: TargetMetrics::new("r/b"),
        });
        let mut state = PartitionState::new(0, Arc::default());
        let lane = Lane::start(runtime, env, state.shared.clone(), &mut state.tasks);
        (lane, state, batches)
    }

    fn push(lane: &mut Lane, state: &PartitionState, offset: i64, bytes: usize) {
        state.shared.progress().track(offset, 1, bytes);
        lane.push(record(offset, bytes));
    }

    /// A full batch goes at once; only the rest waits for `max_wait`.
    #[tokio::test(start_paused = true)]
    async fn a_full_batch_goes_without_waiting_and_the_rest_after_max_wait() {
        let (mut lane, mut state, batches) = lane(json!({"max_records": 5, "max_wait": "10s"}));
        for offset in 0..12 {
            push(&mut lane, &state, offset, 100);
        }
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert_eq!(
            *batches.0.lock().unwrap(),
            [
                (5, Duration::ZERO),
                (5, Duration::ZERO),
                (2, Duration::from_secs(10))
            ]
        );
        assert_eq!(state.shared.progress().committable(), Some(12));
        // Closing the lane ends its sub-lane at once, not at the next `max_wait`.
        push(&mut lane, &state, 12, 100);
        drop(lane);
        let closed = Instant::now();
        while state.tasks.join_next().await.is_some() {}
        assert!(closed.elapsed() < Duration::from_secs(1));
        assert_eq!(batches.0.lock().unwrap().len(), 4);
    }

    /// Batches close at `max_bytes`; a record larger than that goes alone, at once.
    #[tokio::test(start_paused = true)]
    async fn batches_close_at_max_bytes_and_an_oversized_record_goes_alone() {
        let (mut lane, state, batches) =
            lane(json!({"max_records": 100, "max_bytes": 250, "max_wait": "10s"}));
        push(&mut lane, &state, 0, 1000);
        tokio::time::sleep(Duration::from_secs(1)).await;
        for offset in 1..6 {
            push(&mut lane, &state, offset, 100);
        }
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert_eq!(
            *batches.0.lock().unwrap(),
            [
                (1, Duration::ZERO),
                (2, Duration::from_secs(1)),
                (2, Duration::from_secs(1)),
                (1, Duration::from_secs(11))
            ]
        );
        assert_eq!(state.shared.progress().committable(), Some(6));
    }
}
