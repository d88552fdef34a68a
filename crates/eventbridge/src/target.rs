//! The EventBridge target: one engine batch → one or more `PutEvents` requests, one outcome per
//! record.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use fanout_engine::{Delivery, DeliveryRecord, Failure, FailureKind, Outcome, Target};

use crate::classify::{entry_failure, request_failure};
use crate::entry::{Entry, EntrySpec, MAX_ENTRIES, split};

/// Delivers records to one EventBridge bus with `PutEvents`.
///
/// Each batch becomes as few requests as the limits allow (at most 10 entries and at most
/// `max_request_bytes` of entry size each), sent one after the other in batch order. Outcomes
/// are per record: entries EventBridge rejected fail alone, a request
/// that fails as a whole is shared by its entries, and after it the later requests are not
/// sent.
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
    async fn put(&self, entries: Vec<Entry>) -> Result<Vec<Outcome>, Failure> {
        let count = entries.len();
        let output = self
            .client
            .put_events()
            .set_entries(Some(entries.into_iter().map(|e| e.entry).collect()))
            .send()
            .await
            .map_err(|e| request_failure(&e))?;
        let outcomes = entry_outcomes(output.entries(), count);
        for f in outcomes.iter().filter_map(Outcome::failure) {
            tracing::debug!(target = %self.name, error = %f, "event rejected");
        }
        Ok(outcomes)
    }
}

/// One outcome per sent entry from the response's result entries (same order as the request).
/// An entry without an `ErrorCode` was accepted; one with a code failed alone
/// ([`entry_failure`]). A response with fewer result entries than sent cannot say what
/// happened to the rest: they fail as `unavailable` (`MissingResultEntry`, a target failure),
/// so they are held and sent again rather than lost or dead-lettered.
pub(crate) fn entry_outcomes(results: &[PutEventsResultEntry], sent: usize) -> Vec<Outcome> {
    (0..sent)
        .map(|i| match results.get(i) {
            Some(r) => match r.error_code() {
                Some(code) => Outcome::Failed(entry_failure(code, r.error_message())),
                None => Outcome::Delivered,
            },
            None => Outcome::Failed(Failure::new(
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

/// Sends `entries` (built from a batch of `batch_len` records, in batch order) with `put`, one
/// request per [`split`] part, and returns every record's outcome. `outcomes` already holds
/// the `Failed` outcomes of records that could not become entries; every other record starts
/// `NotAttempted`.
///
/// - A request answered: each entry's own outcome ([`entry_outcomes`]).
/// - A request that failed as a whole: `Shared(failure)` for each of its entries when it
///   carried several, `Failed(failure)` when it carried one; the later requests are not sent
///   and their records stay `NotAttempted` (sent again, in order, at no cost of attempts).
pub(crate) async fn deliver_entries<F, Fut>(
    mut outcomes: Vec<Outcome>,
    entries: Vec<Entry>,
    max_request_bytes: usize,
    mut put: F,
) -> Delivery
where
    F: FnMut(Vec<Entry>) -> Fut,
    Fut: Future<Output = Result<Vec<Outcome>, Failure>>,
{
    let sizes: Vec<usize> = entries.iter().map(|e| e.size).collect();
    let mut entries = entries.into_iter();
    for count in split(&sizes, MAX_ENTRIES, max_request_bytes) {
        let part: Vec<Entry> = entries.by_ref().take(count).collect();
        let indexes: Vec<usize> = part.iter().map(|e| e.index).collect();
        match put(part).await {
            Ok(results) => {
                for (i, outcome) in indexes.into_iter().zip(results) {
                    outcomes[i] = outcome;
                }
            }
            Err(failure) => {
                let shared = indexes.len() > 1;
                for &i in &indexes {
                    outcomes[i] = if shared {
                        Outcome::Shared(failure.clone())
                    } else {
                        Outcome::Failed(failure.clone())
                    };
                }
                break;
            }
        }
    }
    Delivery::from_outcomes(outcomes)
}

#[async_trait]
impl Target for PutEventsTarget {
    async fn deliver(&self, batch: &[Arc<DeliveryRecord>]) -> Result<Delivery, Failure> {
        let mut outcomes = vec![Outcome::NotAttempted; batch.len()];
        let entries = self
            .spec
            .entries(batch, self.max_request_bytes, &mut outcomes);
        Ok(
            deliver_entries(outcomes, entries, self.max_request_bytes, |part| {
                self.put(part)
            })
            .await,
        )
    }
}
