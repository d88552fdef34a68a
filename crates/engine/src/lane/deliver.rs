//! Delivering one batch until every record is delivered or dead-lettered.
//!
//! The batch is a queue of *segments* (runs of records in offset order), the first being the
//! whole batch. Each attempt sends the front segment; what is not finished goes back to the
//! front, in order, so nothing newer overtakes it:
//! - delivered records are finished;
//! - records the target did not attempt go again, free;
//! - a request that failed as a whole because of its records is split in halves (`bisect`),
//!   sent at once, one after the other, until the record at fault fails alone;
//! - a record's own failure costs it an attempt: retried after backoff, or dead-lettered by
//!   [`crate::retry::decide`];
//! - a failure about the target holds the records (no attempt spent), marks the target down
//!   and probes it with backoff until it answers.

use std::any::Any;
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime};

use fanout_router::OnFailure;
use futures::FutureExt;
use rand::Rng;
use tokio::time::Instant;

use super::{Ended, SubLane};
use crate::dlq::DeadLetter;
use crate::retry::{self, DeadLetterReason, Failed, Verdict};
use crate::target::{Cause, Delivery, DeliveryRecord, Failure, FailureKind, Outcome};
use crate::telemetry::{DeliveryRetried, RecordDeadLettered};

/// A record not finished yet, with what its attempts so far cost it.
struct Pending {
    record: Arc<DeliveryRecord>,
    /// Attempts charged to this record (see [`retry::decide`]).
    attempts: u32,
    /// Did its last attempt fail (so sending it again is a retry)? Records not attempted
    /// are not retried when sent again.
    failed: bool,
    first_attempt: Option<SystemTime>,
    /// Part of a request that failed as a whole in the last attempt: to be split.
    split: bool,
}

impl Pending {
    fn new(record: Arc<DeliveryRecord>) -> Pending {
        Pending {
            record,
            attempts: 0,
            failed: false,
            first_attempt: None,
            split: false,
        }
    }
}

/// What one attempt at a segment left to do.
#[derive(Default)]
struct Left {
    /// Unfinished records, in order.
    kept: Vec<Pending>,
    /// Highest attempt count among records to retry after backoff.
    retry_after: Option<u32>,
    /// The failure that holds the lane (about the target).
    held: Option<Failure>,
    /// A failure to report with the retry.
    retried: Option<Failure>,
}

impl SubLane {
    /// Delivers a batch; each record ends delivered or dead-lettered, unless the partition is
    /// given up first.
    pub(super) async fn deliver(&self, batch: Vec<Arc<DeliveryRecord>>) -> Ended {
        let t = &*self.target;
        let policy = t.settings.retry;
        let mut segments: VecDeque<Vec<Pending>> =
            VecDeque::from([batch.into_iter().map(Pending::new).collect::<Vec<_>>()]);
        // Target failures in a row, for the probing backoff.
        let mut holds: u32 = 0;
        while let Some(mut segment) = segments.pop_front() {
            if segment.is_empty() {
                continue;
            }
            let now = SystemTime::now();
            let retried = segment.iter().filter(|p| p.failed).count();
            for p in &mut segment {
                p.first_attempt.get_or_insert(now);
                p.split = false;
            }
            t.stats.attempts.fetch_add(1, Relaxed);
            if retried > 0 {
                t.stats.retried.fetch_add(retried as u64, Relaxed);
                t.metrics.retried(retried);
            }
            let records: Vec<Arc<DeliveryRecord>> =
                segment.iter().map(|p| p.record.clone()).collect();
            let outcomes = self.attempt(&records).await;
            let Some(left) = self.settle(segment, outcomes).await else {
                return Ended::Abandoned;
            };
            if left.kept.is_empty() {
                continue;
            }
            let Left {
                kept,
                retry_after,
                held,
                retried,
            } = left;
            let first_offset = kept[0].record.offset;
            let retrying = kept.len();
            requeue(&mut segments, kept);
            let delay = if let Some(failure) = held {
                holds += 1;
                tracing::debug!(
                    target = %t.name, partition = self.partition.partition, error = %failure,
                    "target failure; holding the lane"
                );
                retry::hold_ceiling(&policy, holds)
            } else if let Some(attempt) = retry_after {
                holds = 0;
                let failure = retried.expect("a retry has its failure");
                if t.settings.on_failure == OnFailure::Block && attempt >= policy.max_attempts.get()
                {
                    tracing::error!(
                        target = %t.name, partition = self.partition.partition, attempt,
                        offset = first_offset, error = %failure,
                        "delivery keeps failing; `on_failure: block` holds the lane until it succeeds"
                    );
                } else {
                    DeliveryRetried {
                        target: &t.name,
                        partition: self.partition.partition,
                        attempt,
                        records: retrying,
                        failure: &failure,
                    }
                    .emit();
                }
                policy.backoff_ceiling(attempt)
            } else {
                // Split halves and records not attempted go at once.
                holds = 0;
                continue;
            };
            let delay = delay.mul_f64(rand::rng().random_range(0.0..=1.0));
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.partition.cancel.cancelled() => return Ended::Abandoned,
            }
        }
        Ended::Finished
    }

    /// One attempt: the target's answer as one outcome per record. A timeout, a panic inside
    /// the target, or an answer with the wrong number of outcomes become failures too.
    async fn attempt(&self, records: &[Arc<DeliveryRecord>]) -> Vec<Outcome> {
        let t = &*self.target;
        let started = Instant::now();
        let call = AssertUnwindSafe(t.target.deliver(records)).catch_unwind();
        let answer = tokio::time::timeout(self.env.attempt_timeout, call).await;
        t.metrics.attempt_finished(records.len(), started.elapsed());
        let n = records.len();
        match answer {
            Err(_) => whole(
                Failure::new(
                    FailureKind::Timeout,
                    "AttemptTimeout",
                    format!("no answer within {:?}", self.env.attempt_timeout),
                ),
                n,
            ),
            Ok(Err(panic)) => {
                let message = panic_message(&*panic);
                tracing::error!(
                    target = %t.name, topic = %records[0].topic, partition = records[0].partition,
                    offset = records[0].offset, last_offset = records[n - 1].offset,
                    records = n, panic = %message,
                    "the target panicked while delivering; its records fail as internal_error"
                );
                whole(
                    Failure::new(FailureKind::InternalError, "Panic", message),
                    n,
                )
            }
            Ok(Ok(Ok(Delivery::Delivered))) => vec![Outcome::Delivered; n],
            Ok(Ok(Ok(Delivery::Partial(mut outcomes)))) => {
                if outcomes.len() != n {
                    tracing::error!(
                        target = %t.name, records = n, outcomes = outcomes.len(),
                        "the target reported a different number of outcomes than records"
                    );
                    let missing = Failure::new(
                        FailureKind::InternalError,
                        "MissingOutcome",
                        format!(
                            "the target reported {} outcomes for {n} records",
                            outcomes.len()
                        ),
                    );
                    outcomes = whole(missing, n);
                } else if outcomes.iter().all(|o| *o == Outcome::NotAttempted) {
                    let nothing = Failure::new(
                        FailureKind::InternalError,
                        "NothingAttempted",
                        "the target attempted none of the records",
                    );
                    outcomes = whole(nothing, n);
                }
                outcomes
            }
            Ok(Ok(Err(failure))) => whole(failure, n),
        }
    }

    /// Carries out the outcomes of an attempt: finishes delivered records, dead-letters what
    /// [`retry::decide`] says, and returns the rest. `None`: the partition was given up while
    /// a dead letter was being written.
    async fn settle(&self, segment: Vec<Pending>, outcomes: Vec<Outcome>) -> Option<Left> {
        let t = &*self.target;
        let policy = t.settings.retry;
        let last_attempt = SystemTime::now();
        let shared_by = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Shared(_)))
            .count();
        let mut left = Left::default();
        let mut delivered = Vec::new();
        let mut answered = false;
        let mut target_failure: Option<Failure> = None;
        let mut dead = Vec::new();
        for (mut p, outcome) in segment.into_iter().zip(outcomes) {
            let (failure, shared) = match outcome {
                Outcome::Delivered => {
                    delivered.push(p.record);
                    continue;
                }
                Outcome::NotAttempted => {
                    p.failed = false;
                    left.kept.push(p);
                    continue;
                }
                Outcome::Failed(f) => (f, 1),
                Outcome::Shared(f) => (f, shared_by),
            };
            p.failed = true;
            let (verdict, attempts) = retry::decide(
                Failed {
                    failure: &failure,
                    shared_by: shared,
                    attempts: p.attempts,
                    age: record_age(&p.record),
                },
                &policy,
                t.settings.on_failure,
            );
            p.attempts = attempts;
            match failure.cause() {
                Cause::Record => {
                    answered = true;
                    t.health.record_failed(&failure);
                }
                Cause::Target => {
                    target_failure.get_or_insert_with(|| failure.clone());
                }
            }
            match verdict {
                Verdict::Retry => {
                    left.retry_after = left.retry_after.max(Some(attempts));
                    left.retried.get_or_insert(failure);
                    left.kept.push(p);
                }
                Verdict::Bisect => {
                    p.split = true;
                    left.kept.push(p);
                }
                Verdict::Hold => {
                    left.held.get_or_insert(failure);
                    left.kept.push(p);
                }
                Verdict::DeadLetter(reason) => dead.push((p, failure, reason)),
            }
        }
        // Delivered records finish first, so that a DLQ write that hangs holds back only what
        // is at or after its record.
        if !delivered.is_empty() {
            answered = true;
            self.finish_delivered(&delivered);
        }
        match &target_failure {
            Some(failure) => t.health.target_failed(failure),
            None if answered => t.health.answered(),
            None => {}
        }
        for (p, failure, reason) in dead {
            if !self.dead_letter(&p, &failure, reason, last_attempt).await {
                return None;
            }
        }
        Some(left)
    }

    /// Writes one record to the DLQ and finishes it; false if the partition was given up first.
    async fn dead_letter(
        &self,
        p: &Pending,
        failure: &Failure,
        reason: DeadLetterReason,
        last_attempt: SystemTime,
    ) -> bool {
        let t = &*self.target;
        let dl = DeadLetter {
            route: &t.route,
            target: &t.name,
            failure,
            reason: reason.as_str(),
            attempts: p.attempts,
            first_attempt: p.first_attempt.unwrap_or(last_attempt),
            last_attempt,
        };
        if !self
            .env
            .dlq
            .write(&p.record, &dl, &self.partition.cancel)
            .await
        {
            return false;
        }
        RecordDeadLettered {
            target: &t.name,
            topic: &p.record.topic,
            partition: p.record.partition,
            offset: p.record.offset,
            attempt: p.attempts,
            reason: reason.as_str(),
            failure,
        }
        .emit();
        t.stats.dead_lettered.fetch_add(1, Relaxed);
        self.partition.finish([p.record.offset]);
        true
    }

    fn finish_delivered(&self, records: &[Arc<DeliveryRecord>]) {
        self.target
            .stats
            .delivered
            .fetch_add(records.len() as u64, Relaxed);
        self.target.metrics.delivered(records.len());
        self.partition.finish(records.iter().map(|r| r.offset));
    }
}

/// Puts unfinished records back at the front, in order. Records of a request that failed as a
/// whole are split: the segment ends after the first half of them, the rest follows.
fn requeue(segments: &mut VecDeque<Vec<Pending>>, mut kept: Vec<Pending>) {
    let split = kept.iter().filter(|p| p.split).count();
    if split > 1 {
        let half = split.div_ceil(2);
        let mut seen = 0;
        let cut = kept
            .iter()
            .position(|p| {
                seen += usize::from(p.split);
                seen == half
            })
            .map_or(kept.len(), |i| i + 1);
        let rest = kept.split_off(cut);
        segments.push_front(rest);
    }
    segments.push_front(kept);
}

/// The same failure for every record of a request: shared when it carried several.
fn whole(failure: Failure, records: usize) -> Vec<Outcome> {
    if records == 1 {
        vec![Outcome::Failed(failure)]
    } else {
        vec![Outcome::Shared(failure); records]
    }
}

pub(crate) fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
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
