//! Lanes in virtual time: batching, bisecting a poison record out of a batch, holding for a
//! target that is down, panics inside a target.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};

use async_trait::async_trait;
use serde_json::json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::*;
use crate::dlq::{DeadLetter, DeadLetters};
use crate::partition::PartitionState;
use crate::target::{Delivery, Failure, FailureKind, Outcome, TimestampType};

/// How a scripted target answers a batch.
type Answer = dyn Fn(&[Arc<DeliveryRecord>]) -> Result<Delivery, Failure> + Send + Sync;

/// Records each batch (its offsets) and when it came; answers by a rule.
struct Scripted {
    batches: Mutex<Vec<(Vec<i64>, Duration)>>,
    start: Instant,
    answer: Box<Answer>,
}

#[async_trait]
impl Target for Scripted {
    async fn deliver(&self, batch: &[Arc<DeliveryRecord>]) -> Result<Delivery, Failure> {
        let offsets = batch.iter().map(|r| r.offset).collect();
        self.batches
            .lock()
            .unwrap()
            .push((offsets, self.start.elapsed()));
        (self.answer)(batch)
    }
}

impl Scripted {
    fn batches(&self) -> Vec<(Vec<i64>, Duration)> {
        self.batches.lock().unwrap().clone()
    }

    /// Offsets in the order they were delivered (batches whose answer was `Delivered`).
    fn sent_counts(&self) -> HashMap<i64, usize> {
        let mut counts = HashMap::new();
        for (offsets, _) in self.batches() {
            for o in offsets {
                *counts.entry(o).or_default() += 1;
            }
        }
        counts
    }
}

/// Dead letters, recorded: (offset, kind, reason, attempts).
#[derive(Default)]
struct Recorded(Mutex<Vec<(i64, FailureKind, String, u32)>>);

#[async_trait]
impl DeadLetters for Recorded {
    async fn write(
        &self,
        record: &DeliveryRecord,
        dl: &DeadLetter<'_>,
        _cancel: &CancellationToken,
    ) -> bool {
        self.0.lock().unwrap().push((
            record.offset,
            dl.failure.kind,
            dl.reason.to_owned(),
            dl.attempts,
        ));
        true
    }
}

fn record(offset: i64, bytes: usize) -> Arc<DeliveryRecord> {
    Arc::new(DeliveryRecord {
        topic: "t".into(),
        partition: 0,
        offset,
        timestamp: None,
        timestamp_type: TimestampType::NotAvailable,
        key: None,
        value: Some(vec![b'x'; bytes]),
        headers: Vec::new(),
        header_name_bytes: Vec::new(),
    })
}

struct Setup {
    lane: Lane,
    state: PartitionState,
    target: Arc<Scripted>,
    dlq: Arc<Recorded>,
    health: Arc<TargetHealth>,
}

/// A lane of one partition delivering to a scripted target with these delivery settings.
fn lane(
    delivery: serde_json::Value,
    answer: impl Fn(&[Arc<DeliveryRecord>]) -> Result<Delivery, Failure> + Send + Sync + 'static,
) -> Setup {
    let routes = json!({"routes": [{"name": "r", "topics": ["t"], "targets": [{"custom": {
        "name": "b", "kind": "test", "delivery": delivery
    }}]}]});
    let mut builder = fanout_router::RouteTable::builder();
    builder.add_file("routes.json", &routes.to_string());
    let table = builder.build().unwrap();
    let target = Arc::new(Scripted {
        batches: Mutex::default(),
        start: Instant::now(),
        answer: Box::new(answer),
    });
    let dlq = Arc::new(Recorded::default());
    let env = Arc::new(LaneEnv {
        dlq: dlq.clone(),
        attempt_timeout: Duration::from_secs(60),
    });
    let health = Arc::new(TargetHealth::new("r/b"));
    let runtime = Arc::new(TargetRuntime {
        target: target.clone(),
        route: "r".into(),
        name: "r/b".into(),
        settings: table.targets()[0].delivery.clone(),
        stats: Arc::default(),
        metrics: TargetMetrics::new("r/b"),
        health: health.clone(),
    });
    let mut state = PartitionState::new(0, Arc::default());
    let lane = Lane::start(runtime, env, state.shared.clone(), &mut state.tasks);
    Setup {
        lane,
        state,
        target,
        dlq,
        health,
    }
}

impl Setup {
    fn push(&mut self, offset: i64, bytes: usize) {
        self.state.shared.progress().track(offset, 1, bytes);
        self.lane.push(record(offset, bytes));
    }

    fn committable(&self) -> Option<i64> {
        self.state.shared.progress().committable()
    }
}

fn delivered(_: &[Arc<DeliveryRecord>]) -> Result<Delivery, Failure> {
    Ok(Delivery::Delivered)
}

fn sizes(s: &Setup) -> Vec<(usize, Duration)> {
    s.target
        .batches()
        .into_iter()
        .map(|(o, t)| (o.len(), t))
        .collect()
}

/// A full batch goes at once; only the rest waits for `max_wait`.
#[tokio::test(start_paused = true)]
async fn a_full_batch_goes_without_waiting_and_the_rest_after_max_wait() {
    let mut s = lane(
        json!({"batch": {"max_records": 5, "max_wait": "10s"}}),
        delivered,
    );
    for offset in 0..12 {
        s.push(offset, 100);
    }
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(
        sizes(&s),
        [
            (5, Duration::ZERO),
            (5, Duration::ZERO),
            (2, Duration::from_secs(10))
        ]
    );
    assert_eq!(s.committable(), Some(12));
    // Closing the lane ends its sub-lane at once, not at the next `max_wait`.
    s.push(12, 100);
    drop(s.lane);
    let closed = Instant::now();
    while s.state.tasks.join_next().await.is_some() {}
    assert!(closed.elapsed() < Duration::from_secs(1));
    assert_eq!(s.target.batches().len(), 4);
}

/// Batches close at `max_bytes`; a record larger than that goes alone, at once.
#[tokio::test(start_paused = true)]
async fn batches_close_at_max_bytes_and_an_oversized_record_goes_alone() {
    let mut s = lane(
        json!({"batch": {"max_records": 100, "max_bytes": 250, "max_wait": "10s"}}),
        delivered,
    );
    s.push(0, 1000);
    tokio::time::sleep(Duration::from_secs(1)).await;
    for offset in 1..6 {
        s.push(offset, 100);
    }
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(
        sizes(&s),
        [
            (1, Duration::ZERO),
            (2, Duration::from_secs(1)),
            (2, Duration::from_secs(1)),
            (1, Duration::from_secs(11))
        ]
    );
    assert_eq!(s.committable(), Some(6));
}

const POISON: i64 = 100;

/// A request fails as a whole when it carries the poison record.
fn fails_with_poison(batch: &[Arc<DeliveryRecord>]) -> Result<Delivery, Failure> {
    if batch.iter().any(|r| r.offset == POISON) {
        Err(Failure::new(
            FailureKind::FunctionError,
            "PoisonError",
            "cannot digest",
        ))
    } else {
        Ok(Delivery::Delivered)
    }
}

fn poison_lane(bisect: bool) -> Setup {
    let mut s = lane(
        json!({"batch": {"max_records": 200, "max_wait": "1s"},
               "retry": {"max_attempts": 3, "initial_backoff": "1s", "max_backoff": "4s", "bisect": bisect}}),
        fails_with_poison,
    );
    for offset in 0..200 {
        s.push(offset, 10);
    }
    s
}

/// The issue's case: 200 records, a poison record at 100, one batch. Only the poison record is
/// dead-lettered, with its own 3 attempts; the other 199 are delivered in order, each sent at
/// most ⌈log₂ 200⌉ + 1 = 9 times.
#[tokio::test(start_paused = true)]
async fn bisect_dead_letters_only_the_poison_record() {
    let s = poison_lane(true);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        *s.dlq.0.lock().unwrap(),
        [(
            POISON,
            FailureKind::FunctionError,
            "attempts_exhausted".to_owned(),
            3
        )]
    );
    assert_eq!(s.committable(), Some(200));
    // Delivered batches, in order, cover every other record exactly once.
    let delivered: Vec<i64> = s
        .target
        .batches()
        .into_iter()
        .filter(|(o, _)| !o.contains(&POISON))
        .flat_map(|(o, _)| o)
        .collect();
    let expected: Vec<i64> = (0..200).filter(|&o| o != POISON).collect();
    assert_eq!(delivered, expected);
    let counts = s.target.sent_counts();
    let most = counts
        .iter()
        .filter(|(o, _)| **o != POISON)
        .map(|(_, n)| *n)
        .max();
    assert_eq!(most, Some(9), "{counts:?}");
    // The poison record: 8 requests with others (200, 100, 50, 25, 13, 7, 4, 2) + 3 alone.
    assert_eq!(counts[&POISON], 11);
    // Halves go at once; only the poison record's own retries wait for backoff.
    let alone: Vec<Duration> = s
        .target
        .batches()
        .into_iter()
        .filter(|(o, _)| *o == [POISON])
        .map(|(_, t)| t)
        .collect();
    assert_eq!(alone.len(), 3);
    let first_split = s.target.batches()[1].1;
    assert_eq!(
        (alone[0], first_split),
        (Duration::ZERO, Duration::ZERO),
        "{alone:?}"
    );
    assert!(alone[1] <= Duration::from_secs(1), "{alone:?}");
    assert!(alone[2] - alone[1] <= Duration::from_secs(2), "{alone:?}");
}

/// Without bisect every record of the failing batch is charged and dead-lettered.
#[tokio::test(start_paused = true)]
async fn without_bisect_the_whole_batch_is_dead_lettered() {
    let s = poison_lane(false);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let dlq = s.dlq.0.lock().unwrap().clone();
    assert_eq!(dlq.len(), 200);
    assert!(
        dlq.iter()
            .all(|(_, _, reason, attempts)| reason == "attempts_exhausted" && *attempts == 3)
    );
    assert_eq!(s.target.batches().len(), 3);
}

/// Records a target did not attempt cost nothing and go again at once; the record that failed
/// alone is charged alone.
#[tokio::test(start_paused = true)]
async fn not_attempted_records_are_not_charged() {
    let mut s = lane(
        json!({"batch": {"max_records": 4, "max_wait": "1s"},
               "retry": {"max_attempts": 2, "initial_backoff": "1s", "max_backoff": "1s"}}),
        |batch| {
            // The record at offset 1 always fails on its own; the target stops there.
            let mut outcomes = Vec::new();
            let mut stopped = false;
            for r in batch {
                outcomes.push(if stopped {
                    Outcome::NotAttempted
                } else if r.offset == 1 {
                    stopped = true;
                    Outcome::Failed(Failure::new(FailureKind::FunctionError, "E", "bad"))
                } else {
                    Outcome::Delivered
                });
            }
            Ok(Delivery::from_outcomes(outcomes))
        },
    );
    for offset in 0..4 {
        s.push(offset, 10);
    }
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(
        *s.dlq.0.lock().unwrap(),
        [(
            1,
            FailureKind::FunctionError,
            "attempts_exhausted".into(),
            2
        )]
    );
    let batches: Vec<Vec<i64>> = s.target.batches().into_iter().map(|(o, _)| o).collect();
    assert_eq!(batches, [vec![0, 1, 2, 3], vec![1, 2, 3], vec![2, 3]]);
    assert_eq!(s.committable(), Some(4));
}

/// A target that is down holds its records without charging them, is shown down, probes with
/// capped backoff, and delivers everything in order once it is back.
#[tokio::test(start_paused = true)]
async fn a_down_target_holds_records_and_resumes_in_order() {
    let down = Arc::new(AtomicBool::new(true));
    let flag = down.clone();
    let mut s = lane(
        json!({"batch": {"max_records": 10, "max_wait": "100ms"},
               "retry": {"max_attempts": 2, "initial_backoff": "1s", "max_backoff": "8s"}}),
        move |_| {
            if flag.load(AtomicOrdering::SeqCst) {
                Err(Failure::new(
                    FailureKind::NotFound,
                    "ResourceNotFoundException",
                    "no such function",
                ))
            } else {
                Ok(Delivery::Delivered)
            }
        },
    );
    for offset in 0..25 {
        s.push(offset, 10);
    }
    tokio::time::sleep(Duration::from_secs(600)).await;
    assert!(!s.health.is_up());
    assert!(
        s.dlq.0.lock().unwrap().is_empty(),
        "a down target never dead-letters"
    );
    assert_eq!(s.committable(), Some(0));
    // Probes of the first batch only, spaced by at most max_backoff (8 s) after the first few.
    let probes = s.target.batches();
    assert!(
        probes
            .iter()
            .all(|(o, _)| *o == (0..10).collect::<Vec<_>>())
    );
    assert!(probes.len() >= 600 / 8, "{} probes", probes.len());
    for pair in probes.windows(2) {
        assert!(pair[1].1 - pair[0].1 <= Duration::from_secs(8));
    }
    down.store(false, AtomicOrdering::SeqCst);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(s.health.is_up());
    assert_eq!(s.committable(), Some(25));
    let after: Vec<i64> = s
        .target
        .batches()
        .into_iter()
        .skip(probes.len())
        .flat_map(|(o, _)| o)
        .collect();
    assert_eq!(after[..], (0..25).collect::<Vec<_>>()[after.len() - 25..]);
}

/// A record older than `max_record_age` is dead-lettered even while the target is down.
#[tokio::test(start_paused = true)]
async fn max_record_age_dead_letters_held_records() {
    let mut s = lane(json!({"retry": {"max_record_age": "1h"}}), |_| {
        Err(Failure::new(
            FailureKind::AccessDenied,
            "AccessDeniedException",
            "denied",
        ))
    });
    s.state.shared.progress().track(0, 1, 10);
    let mut old = (*record(0, 10)).clone();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    old.timestamp = Some(now_ms - 2 * 3600 * 1000);
    s.lane.push(Arc::new(old));
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        *s.dlq.0.lock().unwrap(),
        [(0, FailureKind::AccessDenied, "record_too_old".into(), 0)]
    );
}

/// A panic inside `deliver` fails the batch as `internal_error`; bisecting isolates the record
/// that causes it, and the lane goes on.
#[tokio::test(start_paused = true)]
async fn a_panicking_target_dead_letters_only_the_marker_record() {
    let mut s = lane(
        json!({"batch": {"max_records": 8, "max_wait": "10ms"},
               "retry": {"max_attempts": 2, "initial_backoff": "10ms", "max_backoff": "10ms"}}),
        |batch| {
            if batch.iter().any(|r| r.offset == 5) {
                panic!("marker record");
            }
            Ok(Delivery::Delivered)
        },
    );
    for offset in 0..8 {
        s.push(offset, 10);
    }
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        *s.dlq.0.lock().unwrap(),
        [(
            5,
            FailureKind::InternalError,
            "attempts_exhausted".into(),
            2
        )]
    );
    assert_eq!(s.committable(), Some(8));
}
