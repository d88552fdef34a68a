//! Delivery settings: a target's own over its route's, checked and built. A setting that
//! cannot work at run time (a zero cap, a backoff of zero that would retry in a busy loop, a
//! range upside down) is a problem reported where it is written: at the target's `delivery`
//! when the target sets it, else at the route's.

use std::num::{NonZeroU32, NonZeroUsize};
use std::time::Duration;

use serde_json::Value;

use super::{Ctx, KindLimits, MAX_WAIT_LIMIT};
use crate::config::{
    BatchConfig, DeliveryConfig, OnFailureConfig, OrderingConfig, RetryConfig, parse_byte_size,
    parse_duration,
};
use crate::route::{BatchLimits, DeliverySettings, OnFailure, Ordering, RetryPolicy};

/// The shortest backoff: below it a failing target is retried in what amounts to a busy loop.
const MIN_BACKOFF: Duration = Duration::from_millis(1);

/// A setting's value, the target's own over its route's, and the field path where it is
/// written (the target's path when neither sets it).
fn pick<'c, T: ?Sized>(
    field: &str,
    rest: &str,
    target: Option<&'c T>,
    route: Option<&'c T>,
) -> (Option<&'c T>, String) {
    match (target, route) {
        (Some(value), _) => (Some(value), format!("{field}.delivery.{rest}")),
        (None, Some(value)) => (Some(value), format!("delivery.{rest}")),
        (None, None) => (None, format!("{field}.delivery.{rest}")),
    }
}

pub(super) fn build_delivery(
    ctx: &mut Ctx,
    field: &str,
    route: &DeliveryConfig,
    target: &DeliveryConfig,
    limits: &KindLimits,
) -> DeliverySettings {
    let ordering = match target.ordering.or(route.ordering) {
        None | Some(OrderingConfig::Partition) => Ordering::Partition,
        Some(OrderingConfig::Key) => Ordering::Key,
        Some(OrderingConfig::None) => Ordering::None,
    };
    let (concurrency, at) = pick(
        field,
        "concurrency",
        target.concurrency.as_ref(),
        route.concurrency.as_ref(),
    );
    let concurrency = match (concurrency.copied(), ordering) {
        (None, Ordering::Partition) => 1,
        (None, _) => 4,
        (Some(c), Ordering::Partition) if c != 1 => {
            ctx.hinted(
                at,
                format!("concurrency {c} with `ordering: partition`"),
                "partition ordering keeps one batch in flight; use `ordering: key` or `none` for concurrency",
            );
            1
        }
        (Some(c), _) if !(1..=256).contains(&c) => {
            ctx.problem(at, format!("concurrency {c} is outside 1–256"));
            1
        }
        (Some(c), _) => c as usize,
    };
    let batch = build_batch(ctx, field, &route.batch, &target.batch, limits);
    let retry = build_retry(ctx, field, &route.retry, &target.retry);
    let on_failure = match target.on_failure.or(route.on_failure) {
        None | Some(OnFailureConfig::Dlq) => OnFailure::Dlq,
        Some(OnFailureConfig::Block) => OnFailure::Block,
    };
    DeliverySettings {
        ordering,
        concurrency: NonZeroUsize::new(concurrency).unwrap_or(NonZeroUsize::MIN),
        batch,
        retry,
        on_failure,
    }
}

fn build_batch(
    ctx: &mut Ctx,
    field: &str,
    route: &BatchConfig,
    target: &BatchConfig,
    limits: &KindLimits,
) -> BatchLimits {
    let (records, at) = pick(
        field,
        "batch.max_records",
        target.max_records.as_ref(),
        route.max_records.as_ref(),
    );
    let records = records.copied().unwrap_or(limits.default_records as u64);
    if records == 0 || records > limits.max_records as u64 {
        ctx.problem(
            at,
            format!(
                "max_records {records} is outside 1–{} for {} targets",
                limits.max_records, limits.kind
            ),
        );
    }
    let (bytes, at) = pick(
        field,
        "batch.max_bytes",
        target.max_bytes.as_ref(),
        route.max_bytes.as_ref(),
    );
    let bytes = match bytes {
        None => limits.default_bytes as u64,
        Some(v) => {
            let parsed = match v {
                Value::Number(n) => n.as_u64().ok_or_else(|| format!("`{n}` is not a size")),
                Value::String(s) => parse_byte_size(s),
                other => Err(format!("`{other}` is not a size")),
            };
            parsed.unwrap_or_else(|e| {
                ctx.hinted(at.clone(), e, "e.g. `262144`, `256KB`, `6MB`");
                limits.default_bytes as u64
            })
        }
    };
    if bytes == 0 || bytes > limits.max_bytes as u64 {
        ctx.problem(
            at,
            format!(
                "max_bytes {bytes} is outside 1–{} for this {} target",
                limits.max_bytes, limits.kind
            ),
        );
    }
    let (wait, at) = pick(
        field,
        "batch.max_wait",
        target.max_wait.as_ref(),
        route.max_wait.as_ref(),
    );
    let max_wait = duration(ctx, &at, wait, Duration::from_millis(100));
    if max_wait > MAX_WAIT_LIMIT {
        ctx.problem(at, "max_wait is at most 300s (as Lambda's batching window)");
    }
    BatchLimits {
        max_records: NonZeroUsize::new(records as usize).unwrap_or(NonZeroUsize::MIN),
        max_bytes: NonZeroUsize::new(bytes as usize).unwrap_or(NonZeroUsize::MIN),
        max_wait,
    }
}

fn build_retry(
    ctx: &mut Ctx,
    field: &str,
    route: &RetryConfig,
    target: &RetryConfig,
) -> RetryPolicy {
    let (attempts, at) = pick(
        field,
        "retry.max_attempts",
        target.max_attempts.as_ref(),
        route.max_attempts.as_ref(),
    );
    let attempts = attempts.copied().unwrap_or(5);
    if !(1..=1000).contains(&attempts) {
        ctx.problem(
            at,
            format!(
                "max_attempts {attempts} is outside 1–1000 (use `on_failure: block` for no limit)"
            ),
        );
    }
    let (initial, initial_at) = pick(
        field,
        "retry.initial_backoff",
        target.initial_backoff.as_ref(),
        route.initial_backoff.as_ref(),
    );
    let initial = duration(ctx, &initial_at, initial, Duration::from_millis(100));
    let (max, max_at) = pick(
        field,
        "retry.max_backoff",
        target.max_backoff.as_ref(),
        route.max_backoff.as_ref(),
    );
    let max = duration(ctx, &max_at, max, Duration::from_secs(30));
    for (name, value, at) in [
        ("initial_backoff", initial, &initial_at),
        ("max_backoff", max, &max_at),
    ] {
        if value < MIN_BACKOFF {
            ctx.hinted(
                at.as_str(),
                format!("{name} {value:?} is below 1ms: a failing target would be retried in a busy loop"),
                "e.g. `100ms`",
            );
        }
    }
    if initial > max {
        // At the one written, when only one is.
        let written = target.initial_backoff.is_some() || route.initial_backoff.is_some();
        ctx.problem(
            if written { initial_at } else { max_at },
            format!("initial_backoff {initial:?} is larger than max_backoff {max:?}"),
        );
    }
    let (multiplier, at) = pick(
        field,
        "retry.multiplier",
        target.multiplier.as_ref(),
        route.multiplier.as_ref(),
    );
    let multiplier = multiplier.copied().unwrap_or(2.0);
    // Also refuses NaN and infinities.
    if !(1.0..=10.0).contains(&multiplier) {
        ctx.problem(at, format!("multiplier {multiplier} is outside 1.0–10.0"));
    }
    let (age, at) = pick(
        field,
        "retry.max_record_age",
        target.max_record_age.as_ref(),
        route.max_record_age.as_ref(),
    );
    let age = age.map(|text| duration(ctx, &at, Some(text), Duration::ZERO));
    if age == Some(Duration::ZERO) {
        ctx.problem(at, "max_record_age must be more than 0");
    }
    RetryPolicy {
        max_attempts: NonZeroU32::new(attempts).unwrap_or(NonZeroU32::MIN),
        initial_backoff: initial,
        max_backoff: max,
        multiplier,
        max_record_age: age,
        bisect: target.bisect.or(route.bisect).unwrap_or(true),
    }
}

fn duration(ctx: &mut Ctx, field: &str, text: Option<&String>, default: Duration) -> Duration {
    match text {
        None => default,
        Some(t) => parse_duration(t).unwrap_or_else(|e| {
            ctx.hinted(field, e, "e.g. `100ms`, `5s`, `1m`");
            default
        }),
    }
}
