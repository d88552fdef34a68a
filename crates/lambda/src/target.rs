//! The [`Target`] implementation: one Lambda function, invoked with a batch split into
//! invocations that fit the payload limit, in order.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use fanout_engine::{Delivery, DeliveryRecord, Failure, FailureKind, Target};
use fanout_router::{Invocation, LambdaFormat};

use crate::classify::sdk_error;
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
            Err(e) => Answer::Failed(sdk_error(&e)),
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
        deliver_plan(batch, plan, self.limit, read_response, |payload| {
            self.invoke(payload)
        })
        .await
    }
}

/// Makes the plan's invocations in order with `invoke` and reports each record's outcome.
/// `read_response`: whether a successful answer may carry `batchItemFailures`.
pub(crate) async fn deliver_plan<F, Fut>(
    batch: &[Arc<DeliveryRecord>],
    plan: Plan,
    limit: usize,
    read_response: bool,
    mut invoke: F,
) -> Result<Delivery, Failure>
where
    F: FnMut(Vec<u8>) -> Fut,
    Fut: Future<Output = Answer>,
{
    let mut outcomes: Vec<Option<Failure>> = vec![None; batch.len()];
    for &(index, size) in &plan.too_large {
        outcomes[index] = Some(Failure::new(
            FailureKind::PayloadTooLarge,
            "PayloadTooLarge",
            format!(
                "the record needs a {size}-byte invocation payload; this target's limit is {limit} bytes"
            ),
        ));
    }
    // Once an invocation fails in a way worth retrying, later invocations are not made and
    // their records fail too, so a retry resends them in order.
    let mut stopped: Option<Failure> = None;
    for chunk in plan.chunks {
        if let Some(f) = &stopped {
            for &i in &chunk.records {
                outcomes[i] = Some(f.clone());
            }
            continue;
        }
        let body = match invoke(chunk.payload).await {
            Answer::Failed(f) => {
                for &i in &chunk.records {
                    outcomes[i] = Some(f.clone());
                }
                if f.is_retryable() {
                    stopped = Some(f);
                }
                continue;
            }
            Answer::Done(body) => body,
        };
        if !read_response {
            continue;
        }
        let sent: Vec<(String, i64)> = chunk
            .records
            .iter()
            .map(|&i| (partition_key(&batch[i]), batch[i].offset))
            .collect();
        match batch_item_failures(&body, &sent) {
            BatchResponse::Delivered => {}
            BatchResponse::Invalid(why) => {
                let f = Failure::new(FailureKind::FunctionError, "InvalidBatchItemFailures", why);
                for &i in &chunk.records {
                    outcomes[i] = Some(f.clone());
                }
                stopped = Some(f);
            }
            BatchResponse::Failed(first) => {
                for (&i, (key, offset)) in chunk.records.iter().zip(&sent) {
                    if let Some(&from) = first.get(key)
                        && *offset >= from
                    {
                        outcomes[i] = Some(batch_item_failure(key, from));
                    }
                }
                stopped = Some(Failure::new(
                    FailureKind::FunctionError,
                    "BatchItemFailure",
                    "not sent: an earlier invocation of the batch reported batch item failures",
                ));
            }
        }
    }
    Delivery::from_outcomes(outcomes)
}
