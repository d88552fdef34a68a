//! Fetched records and matching them, off the consumer task.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering as AtomicOrdering;

use fanout_router::{RouteId, RouteTable};
use rdkafka::message::{BorrowedMessage, Message};
use rustc_hash::FxHashMap;

use super::PartitionKey;
use super::consumer::Revocations;
use crate::target::DeliveryRecord;

/// Records are matched in batches of up to this many, off the consumer task.
pub(super) const MATCH_BATCH: usize = 64;
/// Batches being matched at once; the consumer fetches no more until the oldest is handled.
pub(super) const MATCH_BATCHES_IN_FLIGHT: usize = 8;

/// A fetched record, the routes it matched, and the revocation epoch when it was fetched.
pub(super) struct Fetched {
    pub record: DeliveryRecord,
    pub epoch: u64,
    pub routes: Vec<RouteId>,
    /// Matching this record panicked (a bug in fanout): the panic's message. The record is
    /// dead-lettered as `internal_error` instead of crashing the process.
    pub panicked: Option<String>,
}

impl Fetched {
    /// Was its partition revoked after it was fetched? Then it is not ours to track: it is
    /// uncommitted, and whoever owns the partition now reads it again.
    pub(super) fn revoked_since(&self, revoked_in: &FxHashMap<PartitionKey, u64>) -> bool {
        let key = (self.record.topic.clone(), self.record.partition);
        revoked_in
            .get(&key)
            .is_some_and(|&epoch| epoch > self.epoch)
    }
}

/// Matches a batch of records (the pure, parallel part of handling a record). A panic while
/// matching one record is caught and recorded on it; the others are matched as usual.
pub(super) fn match_batch(table: &RouteTable, mut batch: Vec<Fetched>) -> Vec<Fetched> {
    let mut matched = Vec::new();
    for fetched in &mut batch {
        let record = &fetched.record;
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
            table.match_parts(record.parts(), record.header_parts(), &mut matched);
        }));
        match result {
            Ok(()) => fetched.routes.clone_from(&matched),
            Err(panic) => {
                let message = crate::lane::panic_message(&*panic);
                tracing::error!(
                    topic = %record.topic, partition = record.partition, offset = record.offset,
                    panic = %message,
                    "matching the record panicked; it is dead-lettered as internal_error"
                );
                matched.clear();
                fetched.panicked = Some(message);
            }
        }
    }
    batch
}

/// A fetched message, copied out of librdkafka's buffer, not matched yet.
pub(super) fn fetched(
    msg: &BorrowedMessage<'_>,
    revocations: &Revocations,
    topic_names: &mut Vec<Arc<str>>,
) -> Fetched {
    let topic = match topic_names.iter().find(|t| ***t == *msg.topic()) {
        Some(t) => t.clone(),
        None => {
            let t: Arc<str> = Arc::from(msg.topic());
            topic_names.push(t.clone());
            t
        }
    };
    Fetched {
        epoch: revocations.epoch.load(AtomicOrdering::SeqCst),
        record: DeliveryRecord::from_message(msg, topic),
        routes: Vec::new(),
        panicked: None,
    }
}
