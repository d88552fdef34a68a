//! The consumer loop: one consumer group, one [`PartitionState`] per assigned partition,
//! offsets committed from each partition's watermark.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use fanout_router::{RouteTable, TargetId};
use futures::stream::FuturesOrdered;
use futures::{FutureExt, StreamExt};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};
use rustc_hash::FxHashMap;

use crate::config::EngineConfig;
use crate::dlq::{DeadLetter, DlqWriter};
use crate::health::TargetHealth;
use crate::lane::{Lane, LaneEnv, TargetRuntime, TargetStats};
use crate::partition::{PartitionShared, PartitionState};
use crate::status::{EngineStats, PartitionStatus};
use crate::target::{DeliveryRecord, Failure, FailureKind, Target};
use crate::telemetry::{self, ConsumerMetrics, PartitionProgressed, TargetMetrics};

mod consumer;
mod fetch;

use consumer::{EngineContext, Revocations, pause};
use fetch::{Fetched, MATCH_BATCH, MATCH_BATCHES_IN_FLIGHT, fetched, match_batch};

/// Engine failures (bad setup or a Kafka client error that stops the run).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// A Kafka client could not be created or used.
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    /// A route's target has no implementation.
    #[error("no target implementation for {0}")]
    MissingTarget(String),
    /// The routes read no topic.
    #[error("the routes read no topic")]
    NoTopics,
}

type PartitionKey = (Arc<str>, i32);
type Partitions = Arc<Mutex<FxHashMap<PartitionKey, PartitionState>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The delivery engine: consumes the routes' topics with one consumer group and delivers each
/// matching record to every target of every matching route.
pub struct Engine {
    config: EngineConfig,
    table: Arc<RouteTable>,
    targets: Vec<Arc<TargetRuntime>>,
    stats: EngineStats,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine for `table`; `make_target` supplies the implementation of each route target.
    pub fn new(
        config: EngineConfig,
        table: Arc<RouteTable>,
        mut make_target: impl FnMut(&fanout_router::Target) -> Option<Arc<dyn Target>>,
    ) -> Result<Engine, EngineError> {
        let mut targets = Vec::with_capacity(table.targets().len());
        for t in table.targets() {
            let target = make_target(t).ok_or_else(|| {
                EngineError::MissingTarget(format!("{} ({})", t.qualified_name, t.kind.label()))
            })?;
            targets.push(Arc::new(TargetRuntime {
                target,
                route: table.route(t.route).name.clone(),
                name: t.qualified_name.clone(),
                settings: t.delivery.clone(),
                stats: Arc::new(TargetStats::default()),
                metrics: TargetMetrics::new(&t.qualified_name),
                health: Arc::new(TargetHealth::new(&t.qualified_name)),
            }));
        }
        let stats = EngineStats {
            targets: Arc::new(
                targets
                    .iter()
                    .map(|t| (t.stats.clone(), t.health.clone()))
                    .collect(),
            ),
            assigned: Arc::new(AtomicUsize::new(0)),
            consuming: Arc::new(AtomicBool::new(false)),
            buffered: Arc::new(AtomicUsize::new(0)),
            dlq: Arc::new(OnceLock::new()),
            partitions: Arc::default(),
        };
        Ok(Engine {
            config,
            table,
            targets,
            stats,
        })
    }

    /// Counters, readable while the engine runs.
    pub fn stats(&self) -> EngineStats {
        self.stats.clone()
    }

    /// Runs until `shutdown` completes, then stops fetching, lets lanes drain within the
    /// drain deadline, commits, and returns.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), EngineError> {
        let topics = self.table.topics();
        if topics.is_empty() {
            return Err(EngineError::NoTopics);
        }
        let partitions: Partitions = Arc::default();
        let revocations: Revocations = Arc::default();
        let producer: FutureProducer = consumer::dlq_producer_config(&self.config).create()?;
        let client = consumer::consumer_config(&self.config);
        let consumer: Arc<StreamConsumer<EngineContext>> = client
            .create_with_context(EngineContext {
                partitions: partitions.clone(),
                revocations: revocations.clone(),
                revoke_timeout: self.config.revoke_timeout,
                assigned: self.stats.assigned.clone(),
            })
            .map(Arc::new)?;
        consumer.subscribe(&topics)?;
        self.stats.consuming.store(true, AtomicOrdering::Relaxed);
        let metrics = ConsumerMetrics::new(&self.table);
        tracing::info!(topics = ?topics, group = self.config.kafka.get("group.id").map(String::as_str), "consuming");
        let dlq = Arc::new(DlqWriter::new(producer, self.config.dlq_topic.clone()));
        let _ = self.stats.dlq.set(dlq.clone());
        let env = Arc::new(LaneEnv {
            dlq,
            attempt_timeout: self.config.attempt_timeout,
        });
        let mut targets: Vec<TargetId> = Vec::new();
        // Batches being matched, handled in fetch order.
        let mut matching: FuturesOrdered<tokio::task::JoinHandle<Vec<Fetched>>> =
            FuturesOrdered::new();
        let mut commit_tick = tokio::time::interval(self.config.commit_interval);
        let mut pause_tick = tokio::time::interval(Duration::from_millis(50));
        tokio::pin!(shutdown);
        let mut stream = consumer.stream();
        // The interval commit in flight (on a blocking thread), if any.
        let mut committing: Option<tokio::task::JoinHandle<()>> = None;
        // One shared name per topic, not one allocation per record.
        let mut topic_names: Vec<Arc<str>> = Vec::new();
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                _ = commit_tick.tick() => {
                    if committing.as_ref().is_none_or(|c| c.is_finished()) {
                        committing = self.commit(&consumer, &partitions);
                    }
                }
                _ = pause_tick.tick() => self.resume_drained(&consumer, &partitions),
                Some(done) = matching.next(), if !matching.is_empty() => {
                    let batch = done.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
                    // Nothing was revoked since the batch was fetched: no lookups.
                    let epoch = revocations.epoch.load(AtomicOrdering::SeqCst);
                    let current: Vec<Fetched> = if batch.iter().all(|f| f.epoch == epoch) {
                        batch
                    } else {
                        let revoked = lock(&revocations.revoked_in);
                        batch.into_iter().filter(|f| !f.revoked_since(&revoked)).collect()
                    };
                    let mut map = lock(&partitions);
                    for fetched in current {
                        self.handle(&consumer, &mut map, &env, &metrics, fetched, &mut targets);
                    }
                }
                msg = stream.next(), if matching.len() < MATCH_BATCHES_IN_FLIGHT => match msg {
                    Some(Ok(m)) => {
                        // Take what librdkafka already holds, up to a batch, without waiting.
                        let mut batch = Vec::with_capacity(MATCH_BATCH);
                        batch.push(fetched(&m, &revocations, &mut topic_names));
                        drop(m);
                        while batch.len() < MATCH_BATCH {
                            match stream.next().now_or_never() {
                                Some(Some(Ok(m))) => batch.push(fetched(&m, &revocations, &mut topic_names)),
                                Some(Some(Err(e))) => tracing::warn!(error = %e, "kafka consumer error"),
                                Some(None) | None => break,
                            }
                        }
                        let table = self.table.clone();
                        matching.push_back(tokio::spawn(async move { match_batch(&table, batch) }));
                    }
                    Some(Err(e)) => tracing::warn!(error = %e, "kafka consumer error"),
                    None => break,
                },
            }
        }
        drop(stream);
        if let Some(commit) = committing.take() {
            let _ = commit.await;
        }
        self.stats.consuming.store(false, AtomicOrdering::Relaxed);
        tracing::info!("shutting down: draining lanes");
        let mut states: Vec<(PartitionKey, PartitionState)> = lock(&partitions).drain().collect();
        for (_, s) in &mut states {
            s.lanes.clear(); // closes the sub-lanes' queues: they deliver what they hold, then end
        }
        let drained = tokio::time::timeout(self.config.drain_timeout, async {
            for (_, s) in &mut states {
                while s.tasks.join_next().await.is_some() {}
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!("drain deadline passed; unfinished records stay uncommitted");
            for (_, s) in &mut states {
                s.shared.cancel.cancel();
                s.tasks.abort_all();
            }
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), s) in &states {
            if let Some(o) = s.shared.progress().committable() {
                let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(o));
            }
        }
        if tpl.count() > 0 {
            if let Err(e) = consumer.commit(&tpl, CommitMode::Sync) {
                telemetry::CommitFailed {
                    error: &e,
                    on: "shutdown",
                }
                .emit();
                return Err(e.into());
            }
            consumer::confirmed(&partitions, &tpl);
        }
        tracing::info!("stopped");
        Ok(())
    }

    fn handle(
        &self,
        consumer: &StreamConsumer<EngineContext>,
        map: &mut FxHashMap<PartitionKey, PartitionState>,
        env: &Arc<LaneEnv>,
        metrics: &ConsumerMetrics,
        fetched: Fetched,
        targets: &mut Vec<TargetId>,
    ) {
        let Fetched {
            record,
            routes,
            panicked,
            ..
        } = fetched;
        let partition = record.partition;
        metrics.consumed(&record.topic);
        for &route in &routes {
            metrics.matched(route);
        }
        targets.clear();
        if let Some(message) = panicked {
            let state = map
                .entry((record.topic.clone(), partition))
                .or_insert_with(|| PartitionState::new(partition, self.stats.buffered.clone()));
            dead_letter_unmatched(state, env, record, message);
            return;
        }
        targets.extend(
            routes
                .iter()
                .flat_map(|&r| self.table.route(r).targets.iter().copied()),
        );
        let buffered = &self.stats.buffered;
        let state = map
            .entry((record.topic.clone(), partition))
            .or_insert_with(|| PartitionState::new(partition, buffered.clone()));
        let over_cap = {
            let mut progress = state.shared.progress();
            if !progress.is_new(record.offset) {
                return; // re-fetched after a pause/resume: already tracked
            }
            PartitionShared::track(
                &mut progress,
                buffered,
                record.offset,
                targets.len() as u32,
                record.memory_estimate(),
            );
            progress.pending_records() >= self.config.max_buffered_records.get()
                || progress.pending_bytes() >= self.config.max_buffered_bytes.get()
        };
        let over_total =
            buffered.load(AtomicOrdering::Relaxed) >= self.config.max_buffered_bytes_total.get();
        // Only a partition about to be paused needs its topic after the record moved on.
        let pausing = (over_cap && !state.paused).then(|| record.topic.clone());
        if !targets.is_empty() {
            let record = Arc::new(record);
            for &id in targets.iter() {
                let runtime = &self.targets[id.0 as usize];
                let shared = state.shared.clone();
                let tasks = &mut state.tasks;
                state
                    .lanes
                    .entry(id)
                    .or_insert_with(|| Lane::start(runtime.clone(), env.clone(), shared, tasks))
                    .push(record.clone());
            }
        }
        if let Some(topic) = pausing {
            pause(consumer, [((&topic, partition), state)]);
        } else if over_total {
            // Every partition stops fetching; the consumer keeps polling (group membership,
            // rebalances) and takes nothing more until lanes bring the total down.
            pause(
                consumer,
                map.iter_mut()
                    .filter(|(_, s)| !s.paused)
                    .map(|((t, p), s)| ((t, *p), s)),
            );
        }
    }

    /// Resumes paused partitions whose buffers, and the total, drained below half their caps.
    fn resume_drained(&self, consumer: &StreamConsumer<EngineContext>, partitions: &Partitions) {
        let mut map = lock(partitions);
        for ((topic, partition), state) in map.iter_mut().filter(|(_, s)| s.paused) {
            let (records, bytes) = {
                let p = state.shared.progress();
                (p.pending_records(), p.pending_bytes())
            };
            if records <= self.config.max_buffered_records.get() / 2
                && bytes <= self.config.max_buffered_bytes.get() / 2
                && self.stats.buffered_bytes() <= self.config.max_buffered_bytes_total.get() / 2
            {
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition(topic, *partition);
                if consumer.resume(&tpl).is_ok() {
                    state.paused = false;
                }
            }
        }
    }

    /// Commits every partition whose committable offset the broker has not confirmed yet, on a
    /// blocking thread (a synchronous commit, so that its result is known: librdkafka reports
    /// the result of an asynchronous commit to no one unless an offset-commit callback is set,
    /// which rust-rdkafka does not). Confirmed offsets are recorded ([`consumer::confirmed`]);
    /// a failed commit is counted and sent again on the next tick.
    fn commit(
        &self,
        consumer: &Arc<StreamConsumer<EngineContext>>,
        partitions: &Partitions,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let mut tpl = TopicPartitionList::new();
        let mut snapshot = Vec::new();
        let map = lock(partitions);
        for ((topic, partition), state) in map.iter() {
            let (offset, in_flight) = {
                let p = state.shared.progress();
                (p.committable(), p.pending_records())
            };
            PartitionProgressed {
                topic,
                partition: *partition,
                in_flight,
                committed: state.committed,
            }
            .emit();
            snapshot.push(PartitionStatus {
                topic: topic.to_string(),
                partition: *partition,
                committed: state.committed,
                committable: offset,
                in_flight,
                paused: state.paused,
            });
            if let Some(offset) = offset
                && Some(offset) != state.committed
            {
                let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(offset));
            }
        }
        drop(map);
        snapshot.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
        *lock(&self.stats.partitions) = snapshot;
        telemetry::buffered_bytes(self.stats.buffered_bytes());
        if tpl.count() == 0 {
            return None;
        }
        let (consumer, partitions) = (consumer.clone(), partitions.clone());
        Some(tokio::task::spawn_blocking(move || {
            match consumer.commit(&tpl, CommitMode::Sync) {
                Ok(()) => consumer::confirmed(&partitions, &tpl),
                Err(e) => telemetry::CommitFailed {
                    error: &e,
                    on: "interval",
                }
                .emit(),
            }
        }))
    }
}

/// Dead-letters a record whose matching panicked (it cannot be routed): it owes one delivery,
/// finished once the DLQ has it.
fn dead_letter_unmatched(
    state: &mut PartitionState,
    env: &Arc<LaneEnv>,
    record: DeliveryRecord,
    message: String,
) {
    {
        let mut progress = state.shared.progress();
        if !progress.is_new(record.offset) {
            return;
        }
        PartitionShared::track(
            &mut progress,
            &state.shared.buffered,
            record.offset,
            1,
            record.memory_estimate(),
        );
    }
    let dlq = env.dlq.clone();
    let shared = state.shared.clone();
    state.tasks.spawn(async move {
        let failure = Failure::new(FailureKind::InternalError, "MatchPanic", message);
        let now = SystemTime::now();
        let dl = DeadLetter {
            route: "(matching)",
            target: "(matching)",
            failure: &failure,
            reason: "permanent_error",
            attempts: 1,
            first_attempt: now,
            last_attempt: now,
        };
        if dlq.write(&record, &dl, &shared.cancel).await {
            shared.finish([record.offset]);
        }
    });
}
