//! The retry-or-dead-letter decision: one pure function of a failure, the route's policy, the
//! record's attempts and age. The lanes ([`crate::lane`]) only carry out what it says.
//!
//! - A failure about the **target** ([`Cause::Target`]) never costs a record an attempt and
//!   never dead-letters it, except when the record has passed `max_record_age` (as ESM's
//!   `MaximumRecordAgeInSeconds`): the lane holds it and probes the target.
//! - A failure about the **record** of a request that carried several records
//!   ([`Outcome::Shared`](crate::Outcome::Shared)) splits them in halves when `retry.bisect`
//!   is on, and costs none of them an attempt: the record at fault is not known yet.
//! - Otherwise the failure is the record's own: it costs an attempt, and the record is
//!   dead-lettered when the failure is permanent, its attempts are used up or it is too old;
//!   `on_failure: block` never dead-letters and retries without limit.

use std::time::Duration;

use fanout_router::{OnFailure, RetryPolicy};

use crate::target::{Cause, Failure};

/// Why a record was dead-lettered (the `fanout.reason` DLQ header).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadLetterReason {
    /// A failure no attempt can change (too large, invalid for the destination).
    PermanentError,
    /// `retry.max_attempts` attempts failed.
    AttemptsExhausted,
    /// The record is older than `retry.max_record_age`.
    RecordTooOld,
}

impl DeadLetterReason {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterReason::PermanentError => "permanent_error",
            DeadLetterReason::AttemptsExhausted => "attempts_exhausted",
            DeadLetterReason::RecordTooOld => "record_too_old",
        }
    }
}

/// What to do with a record after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send it again after the record backoff; the attempt counted.
    Retry,
    /// Send it again at once in a smaller request (half of the failed ones); no attempt counted.
    Bisect,
    /// The target is at fault: keep the record, back off and probe; no attempt counted.
    Hold,
    /// Write it to the DLQ now.
    DeadLetter(DeadLetterReason),
}

/// One failed record's circumstances.
#[derive(Debug, Clone, Copy)]
pub struct Failed<'a> {
    /// The failure reported for it.
    pub failure: &'a Failure,
    /// How many records the failure was reported for together: more than one only for a
    /// request that failed as a whole ([`Outcome::Shared`](crate::Outcome::Shared)).
    pub shared_by: usize,
    /// Attempts the record has used before this one.
    pub attempts: u32,
    /// The record's age (now − its timestamp; zero without one).
    pub age: Duration,
}

/// **The** decision, and the record's attempts after it (one more when the attempt counted).
pub fn decide(f: Failed<'_>, policy: &RetryPolicy, on_failure: OnFailure) -> (Verdict, u32) {
    let block = on_failure == OnFailure::Block;
    let too_old = policy.max_record_age.is_some_and(|max| f.age > max);
    match f.failure.cause() {
        Cause::Target if too_old && !block => (
            Verdict::DeadLetter(DeadLetterReason::RecordTooOld),
            f.attempts,
        ),
        Cause::Target => (Verdict::Hold, f.attempts),
        Cause::Record if f.shared_by > 1 && policy.bisect => (Verdict::Bisect, f.attempts),
        Cause::Record => {
            let attempts = f.attempts + 1;
            let verdict = if block {
                Verdict::Retry
            } else if !f.failure.is_retryable() {
                Verdict::DeadLetter(DeadLetterReason::PermanentError)
            } else if attempts >= policy.max_attempts.get() {
                Verdict::DeadLetter(DeadLetterReason::AttemptsExhausted)
            } else if too_old {
                Verdict::DeadLetter(DeadLetterReason::RecordTooOld)
            } else {
                Verdict::Retry
            };
            (verdict, attempts)
        }
    }
}

/// The delay before probing a target again after `failures` target failures in a row (from
/// 1): the record backoff's growth, capped at `max_backoff`, full jitter drawn by the caller.
pub fn hold_ceiling(policy: &RetryPolicy, failures: u32) -> Duration {
    policy.backoff_ceiling(failures)
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::target::FailureKind;

    fn policy(max_attempts: u32, max_age: Option<u64>, bisect: bool) -> RetryPolicy {
        RetryPolicy {
            max_attempts: NonZeroU32::new(max_attempts).unwrap(),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            multiplier: 2.0,
            max_record_age: max_age.map(Duration::from_secs),
            bisect,
        }
    }

    const KINDS: [FailureKind; 10] = [
        FailureKind::FunctionError,
        FailureKind::Timeout,
        FailureKind::PayloadTooLarge,
        FailureKind::InvalidPayload,
        FailureKind::InternalError,
        FailureKind::Throttled,
        FailureKind::Unavailable,
        FailureKind::NotFound,
        FailureKind::AccessDenied,
        FailureKind::InvalidRequest,
    ];

    /// What the decision must be, written out independently of `decide`'s branch order.
    fn expected(
        failure: &Failure,
        shared_by: usize,
        attempts: u32,
        too_old: bool,
        block: bool,
        bisect: bool,
        max: u32,
    ) -> (Verdict, u32) {
        use DeadLetterReason::*;
        if failure.cause() == Cause::Target {
            // Target failures: never an attempt; only age can dead-letter, and never in block.
            let v = if too_old && !block {
                Verdict::DeadLetter(RecordTooOld)
            } else {
                Verdict::Hold
            };
            return (v, attempts);
        }
        if shared_by > 1 && bisect {
            return (Verdict::Bisect, attempts);
        }
        let n = attempts + 1;
        let v = match (block, failure.is_retryable(), n >= max, too_old) {
            (true, ..) => Verdict::Retry,
            (false, false, ..) => Verdict::DeadLetter(PermanentError),
            (false, true, true, _) => Verdict::DeadLetter(AttemptsExhausted),
            (false, true, false, true) => Verdict::DeadLetter(RecordTooOld),
            (false, true, false, false) => Verdict::Retry,
        };
        (v, n)
    }

    /// Every failure kind × on_failure × bisect × shared or alone × attempts × record age.
    #[test]
    fn every_class_on_failure_attempts_and_age() {
        for kind in KINDS {
            let failure = Failure::new(kind, "c", "m");
            for block in [false, true] {
                let on_failure = if block {
                    OnFailure::Block
                } else {
                    OnFailure::Dlq
                };
                for bisect in [false, true] {
                    for shared_by in [1, 2, 200] {
                        for attempts in 0..4 {
                            for (age, too_old) in [(0, false), (59, false), (61, true)] {
                                let p = policy(3, Some(60), bisect);
                                let got = decide(
                                    Failed {
                                        failure: &failure,
                                        shared_by,
                                        attempts,
                                        age: Duration::from_secs(age),
                                    },
                                    &p,
                                    on_failure,
                                );
                                let want = expected(
                                    &failure, shared_by, attempts, too_old, block, bisect, 3,
                                );
                                assert_eq!(
                                    got, want,
                                    "{kind:?} block={block} bisect={bisect} shared_by={shared_by} attempts={attempts} age={age}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    /// The cases the issue names, spelled out.
    #[test]
    fn named_cases() {
        let p = policy(3, None, true);
        let function_error = Failure::new(FailureKind::FunctionError, "Poison", "bad");
        let failed = |shared_by, attempts| Failed {
            failure: &function_error,
            shared_by,
            attempts,
            age: Duration::ZERO,
        };
        // A whole 200-record invocation failing: split, nobody charged.
        assert_eq!(
            decide(failed(200, 0), &p, OnFailure::Dlq),
            (Verdict::Bisect, 0)
        );
        // The poison record alone: attempts 1, 2, then dead-lettered with 3.
        assert_eq!(
            decide(failed(1, 0), &p, OnFailure::Dlq),
            (Verdict::Retry, 1)
        );
        assert_eq!(
            decide(failed(1, 1), &p, OnFailure::Dlq),
            (Verdict::Retry, 2)
        );
        assert_eq!(
            decide(failed(1, 2), &p, OnFailure::Dlq),
            (Verdict::DeadLetter(DeadLetterReason::AttemptsExhausted), 3)
        );
        // Without bisect a shared failure charges every record.
        let no_bisect = policy(3, None, false);
        assert_eq!(
            decide(failed(200, 0), &no_bisect, OnFailure::Dlq),
            (Verdict::Retry, 1)
        );
        // A missing function holds the lane for ever, unless the record gets too old.
        let missing = Failure::new(FailureKind::NotFound, "ResourceNotFoundException", "gone");
        let held = Failed {
            failure: &missing,
            shared_by: 1,
            attempts: 0,
            age: Duration::from_secs(3600),
        };
        assert_eq!(decide(held, &p, OnFailure::Dlq), (Verdict::Hold, 0));
        assert_eq!(
            decide(held, &policy(3, Some(60), true), OnFailure::Dlq),
            (Verdict::DeadLetter(DeadLetterReason::RecordTooOld), 0)
        );
    }

    /// Probing a down target backs off like records do, and never beyond `max_backoff`.
    #[test]
    fn hold_backoff_is_capped() {
        let p = policy(3, None, true);
        assert_eq!(hold_ceiling(&p, 1), Duration::from_millis(100));
        assert_eq!(hold_ceiling(&p, 3), Duration::from_millis(400));
        assert_eq!(hold_ceiling(&p, 50), Duration::from_secs(5));
    }
}
