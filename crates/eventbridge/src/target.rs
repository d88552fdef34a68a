//! The EventBridge target: one engine batch → one or more `PutEvents` requests, one outcome per
//! record.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use fanout_engine::{Delivery, DeliveryRecord, Failure, FailureKind, Target};

use crate::classify::{entry_failure, request_failure};
use crate::entry::{Entry, EntrySpec, MAX_ENTRIES, split};

/// Delivers records to one EventBridge bus with `PutEvents`.
///
/// Each batch becomes as few requests as the limits allow (at most 10 entries and at most
/// `max_request_bytes` of entry size each), sent one after the other in batch order. A request
/// that fails as a whole fails its records; when that failure is retryable the later requests
/// are not sent (their records fail the same way), so a retry keeps the batch's order as far
/// as possible. Results are per record: entries EventBridge rejected fail alone
/// ([`Delivery::Partial`]) and the engine retries or dead-letters only those.
#[derive(Debug, Clone)]
pub struct PutEventsTarget {
    client: Client,
    spec: EntrySpec,
    max_request_bytes: usize,
    name: String,
}

impl PutEventsTarget {
    pub(crate) fn new(
        client: Client,
        spec: EntrySpec,
        max_request_bytes: usize,
        name: String,
    ) -> Self {
        PutEventsTarget {
            client,
            spec,
            max_request_bytes,
            name,
        }
    }

    /// Sends one request; `Ok` holds one outcome per entry, in order.
    async fn put(&self, entries: Vec<Entry>) -> Result<Vec<Option<Failure>>, Failure> {
        let count = entries.len();
        let output = self
            .client
            .put_events()
            .set_entries(Some(entries.into_iter().map(|e| e.entry).collect()))
            .send()
            .await
            .map_err(|e| request_failure(&e))?;
        Ok(entry_outcomes(output.entries(), count))
    }
}

/// One outcome per sent entry from the response's result entries (same order as the request).
/// An entry without an `ErrorCode` was accepted. A response with fewer result entries than sent
/// cannot say what happened to the rest: they count as failed (`unavailable`), so they are sent
/// again rather than lost.
pub(crate) fn entry_outcomes(
    results: &[PutEventsResultEntry],
    sent: usize,
) -> Vec<Option<Failure>> {
    (0..sent)
        .map(|i| match results.get(i) {
            Some(r) => r
                .error_code()
                .map(|code| entry_failure(code, r.error_message())),
            None => Some(Failure::new(
                FailureKind::Unavailable,
                "MissingResultEntry",
                format!(
                    "PutEvents returned {} result entries for {sent} events",
                    results.len()
                ),
            )),
        })
        .collect()
}

#[async_trait]
impl Target for PutEventsTarget {
    async fn deliver(&self, batch: &[Arc<DeliveryRecord>]) -> Result<Delivery, Failure> {
        let mut outcomes: Vec<Option<Failure>> = vec![None; batch.len()];
        let entries = self
            .spec
            .entries(batch, self.max_request_bytes, &mut outcomes);
        let sizes: Vec<usize> = entries.iter().map(|e| e.size).collect();
        let mut entries = entries.into_iter();
        let mut stopped: Option<Failure> = None;
        for count in split(&sizes, MAX_ENTRIES, self.max_request_bytes) {
            let part: Vec<Entry> = entries.by_ref().take(count).collect();
            let indexes: Vec<usize> = part.iter().map(|e| e.index).collect();
            if let Some(failure) = &stopped {
                for i in indexes {
                    outcomes[i] = Some(failure.clone());
                }
                continue;
            }
            match self.put(part).await {
                Ok(results) => {
                    for (i, outcome) in indexes.into_iter().zip(results) {
                        if let Some(f) = &outcome {
                            tracing::debug!(target = %self.name, error = %f, "event rejected");
                        }
                        outcomes[i] = outcome;
                    }
                }
                Err(failure) => {
                    for &i in &indexes {
                        outcomes[i] = Some(failure.clone());
                    }
                    if failure.is_retryable() {
                        stopped = Some(failure);
                    }
                }
            }
        }
        Delivery::from_outcomes(outcomes)
    }
}
