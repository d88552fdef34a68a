//! The [`Target`] implementation: one Lambda function, invoked with a batch split into
//! invocations that fit the payload limit, in order.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use fanout_engine::{Delivery, DeliveryRecord, Failure, FailureKind, Outcome, Target};
use fanout_router::{Invocation, LambdaFormat};

use crate::classify::invoke_failure;
use crate::concurrency::Limiter;
use crate::payload::{EventSource, Plan, partition_key, plan_esm, plan_records};
use crate::response::{BatchResponse, batch_item_failure, batch_item_failures, function_error};

/// One Lambda function target.
pub(crate) struct FunctionTarget {
    pub client: Client,
    /// `route/target`, for logs.
    pub name: String,
    pub function: String,
    pub qualifier: Option<String>,
    pub invocation: Invocation,
    pub format: LambdaFormat,
    pub source: EventSource,
    /// Largest payload of one invocation, bytes.
    pub limit: usize,
    pub limiter: Limiter,
}

/// What one invocation answered.
pub(crate) enum Answer {
    /// Accepted (`Event`) or returned (`RequestResponse`) with this response payload.
    Done(Vec<u8>),
    /// Failed as a whole.
    Failed(Failure),
}

impl FunctionTarget {
    fn plan(&self, batch: &[Arc<DeliveryRecord>]) -> Plan {
        match self.format {
            LambdaFormat::Esm => plan_esm(batch, &self.source, self.limit),
            LambdaFormat::Record => plan_records(batch, self.limit),
        }
    }

    async fn invoke(&self, payload: Vec<u8>) -> Answer {
        let invocation_type = match self.invocation {
            Invocation::Sync => InvocationType::RequestResponse,
            Invocation::Async => InvocationType::Event,
        };
        let result = {
            let _slot = self.limiter.acquire().await;
            self.client
                .invoke()
                .function_name(&self.function)
                .set_qualifier(self.qualifier.clone())
                .invocation_type(invocation_type)
                .payload(Blob::new(payload))
                .send()
                .await
        };
        let answer = match result {
            Ok(out) => {
                let body = out.payload.map(Blob::into_inner).unwrap_or_default();
                match out.function_error {
                    Some(header) => Answer::Failed(function_error(Some(&header), &body)),
                    None => Answer::Done(body),
                }
            }
            Err(e) => Answer::Failed(invoke_failure(&e)),
        };
        match &answer {
            Answer::Failed(f) if f.kind == FailureKind::Throttled => {
                let limit = self.limiter.throttled();
                tracing::warn!(target = %self.name, limit, "throttled; lowering invoke concurrency");
            }
            Answer::Failed(_) => {}
            Answer::Done(_) => self.limiter.succeeded(),
        }
        answer
    }
}

#[async_trait]
impl Target for FunctionTarget {
    async fn deliver(&self, batch: &[Arc<DeliveryRecord>]) -> Result<Delivery, Failure> {
        let plan = self.plan(batch);
        let read_response = self.format == LambdaFormat::Esm && self.invocation == Invocation::Sync;
        Ok(
            deliver_plan(batch, plan, self.limit, read_response, |payload| {
                self.invoke(payload)
            })
            .await,
        )
    }
}

/// Makes the plan's invocations in order with `invoke` and reports each record's outcome.
/// `read_response`: whether a successful answer may carry `batchItemFailures`.
///
/// - A record that cannot fit an invocation alone: `Failed(payload_too_large)`.
/// - An invocation that succeeds: its records are `Delivered`.
/// - An invocation that fails as a whole (an invalid partial-batch response included):
///   `Shared(failure)` for each of its records when it carried several (any of them may be at
///   fault), `Failed(failure)` when it carried one.
/// - A partial-batch response: in each partition it names, the first record named is
///   `Failed`, the later records of that partition in the invocation `NotAttempted` (the
///   function asks for them again without having failed on them); the others are delivered.
/// - After an invocation that failed in any way, the later invocations are not made: their
///   records are `NotAttempted` (sent again, in order, at no cost of attempts).
pub(crate) async fn deliver_plan<F, Fut>(
    batch: &[Arc<DeliveryRecord>],
    plan: Plan,
    limit: usize,
    read_response: bool,
    mut invoke: F,
) -> Delivery
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: Future<Output = Answer>,
{
    let mut outcomes = vec![Outcome::NotAttempted; batch.len()];
    for &(index, size) in &plan.too_large {
        outcomes[index] = Outcome::Failed(Failure::new(
            FailureKind::PayloadTooLarge,
            "PayloadTooLarge",
            format!(
                "the record needs a {size}-byte invocation payload; this target's limit is {limit} bytes"
            ),
        ));
    }
    for chunk in plan.chunks {
        let failure = match invoke(chunk.payload).await {
            Answer::Failed(f) => Some(f),
            Answer::Done(_) if !read_response => None,
            Answer::Done(body) => {
                let sent: Vec<(String, i64)> = chunk
                    .records
                    .iter()
                    .map(|&i| (partition_key(&batch[i]), batch[i].offset))
                    .collect();
                match batch_item_failures(&body, &sent) {
                    BatchResponse::Delivered => None,
                    BatchResponse::Invalid(why) => Some(Failure::new(
                        FailureKind::FunctionError,
                        "InvalidBatchItemFailures",
                        why,
                    )),
                    BatchResponse::Failed(first) => {
                        for (&i, (key, offset)) in chunk.records.iter().zip(&sent) {
                            outcomes[i] = match first.get(key) {
                                Some(&from) if *offset == from => {
                                    Outcome::Failed(batch_item_failure(key, from))
                                }
                                Some(&from) if *offset > from => Outcome::NotAttempted,
                                _ => Outcome::Delivered,
                            };
                        }
                        // Later invocations wait for the failed record: their records stay
                        // `NotAttempted`.
                        break;
                    }
                }
            }
        };
        match failure {
            None => {
                for &i in &chunk.records {
                    outcomes[i] = Outcome::Delivered;
                }
            }
            Some(f) => {
                let shared = chunk.records.len() > 1;
                for &i in &chunk.records {
                    outcomes[i] = if shared {
                        Outcome::Shared(f.clone())
                    } else {
                        Outcome::Failed(f.clone())
                    };
                }
                break;
            }
        }
    }
    Delivery::from_outcomes(outcomes)
}
