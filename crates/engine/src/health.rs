//! Whether each target is up, as its lanes see it: a target whose requests fail for a reason
//! about the target (not found, access denied, unreachable, ...) is **down** until one of its
//! lanes gets an answer again. Shown as the gauge `fanout_target_up{target}`, in `/status`, and
//! as one log line per change of state (ERROR when it goes down, WARN when it is back), never
//! one per attempt.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use metrics::{Gauge, gauge};

use crate::target::{Failure, FailureKind};

/// The last failure of a target, and when it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct LastError {
    /// The failure.
    pub failure: Failure,
    /// When.
    pub at: SystemTime,
}

/// The health of one target, shared by its lanes.
#[derive(Debug)]
pub struct TargetHealth {
    name: String,
    down: AtomicBool,
    /// Since when the target is down (`None` while up).
    down_since: Mutex<Option<SystemTime>>,
    last_error: Mutex<Option<LastError>>,
    up_gauge: Gauge,
}

impl TargetHealth {
    /// A target that is up until shown otherwise.
    pub fn new(name: &str) -> TargetHealth {
        let up_gauge = gauge!("fanout_target_up", "target" => name.to_owned());
        up_gauge.set(1.0);
        TargetHealth {
            name: name.to_owned(),
            down: AtomicBool::new(false),
            down_since: Mutex::new(None),
            last_error: Mutex::new(None),
            up_gauge,
        }
    }

    /// Qualified target name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Is the target up?
    pub fn is_up(&self) -> bool {
        !self.down.load(Ordering::Relaxed)
    }

    /// Since when it is down.
    pub fn down_since(&self) -> Option<SystemTime> {
        *lock(&self.down_since)
    }

    /// Its last failure of any kind, if any.
    pub fn last_error(&self) -> Option<LastError> {
        lock(&self.last_error).clone()
    }

    /// A request failed for a reason about the target. Throttling keeps it up (it answers, and
    /// asks for less); anything else marks it down.
    pub fn target_failed(&self, failure: &Failure) {
        self.remember(failure);
        if failure.kind == FailureKind::Throttled || self.down.swap(true, Ordering::Relaxed) {
            return;
        }
        *lock(&self.down_since) = Some(SystemTime::now());
        self.up_gauge.set(0.0);
        tracing::error!(
            target = %self.name, error = %failure,
            "target is down: its records are held, not dead-lettered, and its lanes probe it with backoff until it answers"
        );
    }

    /// A request failed because of its records: the target answered.
    pub fn record_failed(&self, failure: &Failure) {
        self.remember(failure);
        self.answered();
    }

    /// The target answered (delivered, or rejected a record on its merits).
    pub fn answered(&self) {
        if self.down.load(Ordering::Relaxed) && self.down.swap(false, Ordering::Relaxed) {
            let since = lock(&self.down_since).take();
            self.up_gauge.set(1.0);
            let down_for = since.and_then(|s| s.elapsed().ok()).unwrap_or_default();
            tracing::warn!(
                target = %self.name, down_for = ?down_for,
                "target is up again; delivering the records it held, in order"
            );
        }
    }

    fn remember(&self, failure: &Failure) {
        *lock(&self.last_error) = Some(LastError {
            failure: failure.clone(),
            at: SystemTime::now(),
        });
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_on_target_failures_up_on_any_answer_and_throttling_is_not_down() {
        let h = TargetHealth::new("r/t");
        assert!(h.is_up());
        h.target_failed(&Failure::new(FailureKind::Throttled, "T", "slow"));
        assert!(h.is_up(), "a throttled target is up");
        let missing = Failure::new(FailureKind::NotFound, "ResourceNotFoundException", "gone");
        h.target_failed(&missing);
        assert!(!h.is_up());
        assert!(h.down_since().is_some());
        assert_eq!(h.last_error().unwrap().failure, missing);
        h.target_failed(&missing); // still down: no second transition
        assert!(!h.is_up());
        h.record_failed(&Failure::new(FailureKind::FunctionError, "E", "bad record"));
        assert!(h.is_up(), "a function error is an answer");
        assert!(h.down_since().is_none());
        h.target_failed(&missing);
        h.answered();
        assert!(h.is_up());
    }
}
