//! An adaptive (AIMD) limit on one target's invocations in flight: halved on every throttle,
//! grown by `1/limit` on every success (about +1 per round of invocations), between 1 and
//! the configured maximum.

use std::sync::Mutex;

use tokio::sync::Notify;

/// The adaptive limit of one target.
#[derive(Debug)]
pub struct Limiter {
    max: f64,
    state: Mutex<State>,
    notify: Notify,
}

#[derive(Debug)]
struct State {
    limit: f64,
    in_flight: usize,
}

/// One invocation slot; released when dropped.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a Limiter,
}

impl Limiter {
    /// A limiter starting (and capped) at `max` invocations in flight.
    pub fn new(max: usize) -> Limiter {
        let max = max.max(1) as f64;
        Limiter {
            max,
            state: Mutex::new(State {
                limit: max,
                in_flight: 0,
            }),
            notify: Notify::new(),
        }
    }

    /// The current limit.
    #[cfg(test)]
    pub fn limit(&self) -> usize {
        self.lock().limit as usize
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits for a slot.
    pub async fn acquire(&self) -> Permit<'_> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut s = self.lock();
                if (s.in_flight as f64) < s.limit.floor() {
                    s.in_flight += 1;
                    return Permit { limiter: self };
                }
            }
            notified.await;
        }
    }

    /// Records a throttle: halves the limit (not below 1). Returns the new limit.
    pub fn throttled(&self) -> usize {
        let mut s = self.lock();
        s.limit = (s.limit / 2.0).max(1.0);
        s.limit as usize
    }

    /// Records a success: grows the limit by `1/limit` (not above the maximum).
    pub fn succeeded(&self) {
        let grew = {
            let mut s = self.lock();
            let before = s.limit.floor();
            s.limit = (s.limit + 1.0 / s.limit).min(self.max);
            s.limit.floor() > before
        };
        if grew {
            self.notify.notify_one();
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.limiter.lock().in_flight -= 1;
        self.limiter.notify.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn halves_on_throttle_and_recovers_additively() {
        let l = Limiter::new(16);
        assert_eq!(l.limit(), 16);
        assert_eq!(l.throttled(), 8);
        assert_eq!(l.throttled(), 4);
        for _ in 0..10 {
            l.throttled();
        }
        assert_eq!(l.limit(), 1, "never below one");
        // About one more slot per `limit` successes: 1 → 2 → 2.5 → 2.9 → 3.24.
        l.succeeded();
        assert_eq!(l.limit(), 2);
        l.succeeded();
        l.succeeded();
        assert_eq!(l.limit(), 2);
        l.succeeded();
        assert_eq!(l.limit(), 3);
        for _ in 0..1000 {
            l.succeeded();
        }
        assert_eq!(l.limit(), 16, "capped at the maximum");
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_a_slot() {
        let l = Arc::new(Limiter::new(2));
        l.throttled();
        let first = l.acquire().await;
        let waiter = {
            let l = l.clone();
            tokio::spawn(async move {
                let _p = l.acquire().await;
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished(), "limit 1: the second caller waits");
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("released slot is handed on")
            .unwrap();
    }
}
