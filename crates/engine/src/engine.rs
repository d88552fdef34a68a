//! The consumer loop: one consumer group, one [`PartitionState`] per assigned partition,
//! offsets committed from each partition's watermark.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fanout_router::{RouteId, RouteTable, TargetId};
use futures::stream::FuturesOrdered;
use futures::{FutureExt, StreamExt};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::FutureProducer;
use rdkafka::statistics::Statistics;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use rustc_hash::FxHashMap;

use crate::config::EngineConfig;
use crate::dlq::DlqWriter;
use crate::lane::{Lane, LaneEnv, TargetRuntime, TargetStats};
use crate::partition::{PartitionShared, PartitionState};
use crate::target::{DeliveryRecord, Target};
use crate::telemetry::{self, ConsumerLag, ConsumerMetrics, PartitionProgressed, TargetMetrics};

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
type Revocations = Arc<RevocationLog>;

/// When partitions were revoked: a record fetched before its partition was revoked is not
/// tracked after (it is uncommitted, and whoever owns the partition reads it).
#[derive(Default)]
struct RevocationLog {
    /// Revocations so far; a record remembers the value when it was fetched.
    epoch: AtomicU64,
    /// The epoch each partition was last revoked in.
    revoked_in: Mutex<FxHashMap<PartitionKey, u64>>,
}

/// Records are matched in batches of up to this many, off the consumer task.
const MATCH_BATCH: usize = 64;
/// Batches being matched at once; the consumer fetches no more until the oldest is handled.
const MATCH_BATCHES_IN_FLIGHT: usize = 8;

/// A fetched record, the routes it matched, and the revocation epoch when it was fetched.
struct Fetched {
    record: DeliveryRecord,
    epoch: u64,
    routes: Vec<RouteId>,
}

impl Fetched {
    /// Was its partition revoked after it was fetched? Then it is not ours to track: it is
    /// uncommitted, and whoever owns the partition now reads it again.
    fn revoked_since(&self, revoked_in: &FxHashMap<PartitionKey, u64>) -> bool {
        let key = (self.record.topic.clone(), self.record.partition);
        revoked_in
            .get(&key)
            .is_some_and(|&epoch| epoch > self.epoch)
    }
}

/// Matches a batch of records (the pure, parallel part of handling a record).
fn match_batch(table: &RouteTable, mut batch: Vec<Fetched>) -> Vec<Fetched> {
    let mut matched = Vec::new();
    for fetched in &mut batch {
        let record = &fetched.record;
        table.match_parts(record.parts(), record.header_parts(), &mut matched);
        fetched.routes.clone_from(&matched);
    }
    batch
}

/// Consumer context: gives up revoked partitions and commits their watermarks.
struct EngineContext {
    partitions: Partitions,
    revocations: Revocations,
    revoke_timeout: Duration,
    assigned: Arc<AtomicUsize>,
}

impl ClientContext for EngineContext {
    fn stats(&self, statistics: Statistics) {
        for (topic, t) in &statistics.topics {
            for (partition, p) in &t.partitions {
                // librdkafka reports -1 where it does not know (e.g. unassigned partitions).
                if *partition >= 0 && p.consumer_lag >= 0 {
                    ConsumerLag {
                        topic,
                        partition: *partition,
                        lag: p.consumer_lag,
                    }
                    .emit();
                }
            }
        }
    }
}

impl ConsumerContext for EngineContext {
    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            tracing::info!(partitions = tpl.count(), "partitions assigned");
        }
        let count = consumer.assignment().map(|a| a.count()).unwrap_or(0);
        self.assigned.store(count, AtomicOrdering::Relaxed);
    }

    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(revoked) = rebalance else {
            return;
        };
        let mut states = Vec::new();
        {
            let mut map = lock(&self.partitions);
            let mut revoked_in = lock(&self.revocations.revoked_in);
            let epoch = self.revocations.epoch.fetch_add(1, AtomicOrdering::SeqCst) + 1;
            for elem in revoked.elements() {
                let key: PartitionKey = (Arc::from(elem.topic()), elem.partition());
                revoked_in.insert(key.clone(), epoch);
                if let Some(state) = map.remove(&key) {
                    states.push((key, state));
                }
            }
        }
        if states.is_empty() {
            return;
        }
        tracing::info!(
            partitions = states.len(),
            "partitions revoked; stopping their lanes"
        );
        for (_, state) in &mut states {
            state.shared.cancel.cancel();
            state.lanes.clear();
        }
        // In-flight attempts may finish within the deadline; then the watermark is committed.
        let deadline = self.revoke_timeout;
        {
            let wait = async {
                let _ = tokio::time::timeout(deadline, async {
                    for (_, state) in &mut states {
                        while state.tasks.join_next().await.is_some() {}
                    }
                })
                .await;
            };
            // Called from inside the consumer's poll, on a runtime worker: hand the worker's
            // other tasks off while we wait.
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                tokio::task::block_in_place(|| handle.block_on(wait));
            }
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, partition), state) in &states {
            if let Some(offset) = state.shared.progress().committable() {
                let _ = tpl.add_partition_offset(topic, *partition, Offset::Offset(offset));
            }
        }
        if tpl.count() > 0
            && let Err(e) = consumer.commit(&tpl, CommitMode::Sync)
        {
            tracing::warn!(error = %e, "commit on revoke failed; the new owner re-delivers from the last commit");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Per-target counters and the engine's state, readable while it runs.
#[derive(Debug, Clone)]
pub struct EngineStats {
    targets: Arc<Vec<(String, Arc<TargetStats>)>>,
    assigned: Arc<AtomicUsize>,
    consuming: Arc<AtomicBool>,
    buffered: Arc<AtomicUsize>,
}

impl EngineStats {
    /// Estimated bytes of the records buffered or in flight, across partitions (what
    /// `max_buffered_bytes_total` caps).
    pub fn buffered_bytes(&self) -> usize {
        self.buffered.load(AtomicOrdering::Relaxed)
    }

    /// Partitions currently assigned to this member.
    pub fn assigned_partitions(&self) -> usize {
        self.assigned.load(AtomicOrdering::Relaxed)
    }

    /// Is the consumer loop running (subscribed and not shutting down)?
    pub fn consuming(&self) -> bool {
        self.consuming.load(AtomicOrdering::Relaxed)
    }

    /// (qualified target name, counters) for every target.
    pub fn targets(&self) -> impl Iterator<Item = (&str, &TargetStats)> {
        self.targets.iter().map(|(n, s)| (n.as_str(), &**s))
    }
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
            }));
        }
        let stats = EngineStats {
            targets: Arc::new(
                targets
                    .iter()
                    .map(|t| (t.name.clone(), t.stats.clone()))
                    .collect(),
            ),
            assigned: Arc::new(AtomicUsize::new(0)),
            consuming: Arc::new(AtomicBool::new(false)),
            buffered: Arc::new(AtomicUsize::new(0)),
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
        // The DLQ producer shares the connection and security settings, not consumer-only ones
        // (librdkafka would warn about each).
        let mut producer_config = ClientConfig::new();
        for (k, v) in self
            .config
            .kafka
            .iter()
            .filter(|(k, _)| !is_consumer_only(k))
        {
            producer_config.set(k, v);
        }
        let producer: FutureProducer = producer_config.create()?;
        let mut client = ClientConfig::new();
        for (k, v) in &self.config.kafka {
            client.set(k, v);
        }
        client
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false");
        if !self.config.kafka.contains_key("auto.offset.reset") {
            client.set("auto.offset.reset", "earliest");
        }
        if !self.config.kafka.contains_key("queued.max.messages.kbytes") {
            // librdkafka prefetches up to 64 MB by default; fanout buffers per partition itself.
            client.set("queued.max.messages.kbytes", "16384");
        }
        if !self.config.kafka.contains_key("fetch.queue.backoff.ms") {
            // librdkafka waits 1 s before fetching a partition again once the queue above is
            // full; with a small queue that wait, not fanout, was the limit (`benches/e2e.rs`:
            // 29k records/s at 1 s, 110k at 10 ms).
            client.set("fetch.queue.backoff.ms", "10");
        }
        if !self.config.kafka.contains_key("statistics.interval.ms") {
            client.set("statistics.interval.ms", "5000"); // consumer lag for the metrics
        }
        let consumer: StreamConsumer<EngineContext> =
            client.create_with_context(EngineContext {
                partitions: partitions.clone(),
                revocations: revocations.clone(),
                revoke_timeout: self.config.revoke_timeout,
                assigned: self.stats.assigned.clone(),
            })?;
        consumer.subscribe(&topics)?;
        self.stats.consuming.store(true, AtomicOrdering::Relaxed);
        let metrics = ConsumerMetrics::new(&self.table);
        tracing::info!(topics = ?topics, group = self.config.kafka.get("group.id").map(String::as_str), "consuming");
        let env = Arc::new(LaneEnv {
            dlq: Arc::new(DlqWriter::new(producer, self.config.dlq_topic.clone())),
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
        // One shared name per topic, not one allocation per record.
        let mut topic_names: Vec<Arc<str>> = Vec::new();
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                _ = commit_tick.tick() => self.commit(&consumer, &partitions, CommitMode::Async),
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
            consumer.commit(&tpl, CommitMode::Sync)?;
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
        let Fetched { record, routes, .. } = fetched;
        let partition = record.partition;
        metrics.consumed(&record.topic);
        for &route in &routes {
            metrics.matched(route);
        }
        targets.clear();
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

    fn commit(
        &self,
        consumer: &StreamConsumer<EngineContext>,
        partitions: &Partitions,
        mode: CommitMode,
    ) {
        let mut tpl = TopicPartitionList::new();
        let mut map = lock(partitions);
        for ((topic, partition), state) in map.iter_mut() {
            let (offset, in_flight) = {
                let p = state.shared.progress();
                (p.committable(), p.pending_records())
            };
            PartitionProgressed {
                topic,
                partition: *partition,
                in_flight,
                committed: state.last_committed,
            }
            .emit();
            if offset.is_some() && offset != state.last_committed {
                let _ = tpl.add_partition_offset(
                    topic,
                    *partition,
                    Offset::Offset(offset.unwrap_or_default()),
                );
                state.last_committed = offset;
            }
        }
        drop(map);
        telemetry::buffered_bytes(self.stats.buffered_bytes());
        if tpl.count() > 0
            && let Err(e) = consumer.commit(&tpl, mode)
        {
            tracing::warn!(error = %e, "offset commit failed; will retry on the next tick");
        }
    }
}

/// Pauses partitions. Records of theirs already fetched may still arrive, and are fetched again
/// on resume; `handle` skips offsets it already tracks.
fn pause<'a>(
    consumer: &StreamConsumer<EngineContext>,
    partitions: impl IntoIterator<Item = ((&'a Arc<str>, i32), &'a mut PartitionState)>,
) {
    let mut tpl = TopicPartitionList::new();
    let mut states = Vec::new();
    for ((topic, partition), state) in partitions {
        tpl.add_partition(topic, partition);
        states.push(state);
    }
    if states.is_empty() {
        return;
    }
    match consumer.pause(&tpl) {
        Ok(()) => {
            for state in states {
                state.paused = true;
            }
            tracing::debug!(partitions = tpl.count(), "partitions paused: buffer full");
        }
        Err(e) => tracing::warn!(error = %e, "pausing partitions failed"),
    }
}

/// librdkafka properties that only a consumer understands.
fn is_consumer_only(key: &str) -> bool {
    const KEYS: [&str; 12] = [
        "group.id",
        "group.instance.id",
        "group.protocol",
        "session.timeout.ms",
        "heartbeat.interval.ms",
        "max.poll.interval.ms",
        "auto.offset.reset",
        "partition.assignment.strategy",
        "isolation.level",
        "check.crcs",
        "statistics.interval.ms",
        "allow.auto.create.topics",
    ];
    KEYS.contains(&key) || key.starts_with("fetch.") || key.starts_with("queued.")
}

/// A fetched message, copied out of librdkafka's buffer, not matched yet.
fn fetched(
    msg: &BorrowedMessage<'_>,
    revocations: &Revocations,
    topic_names: &mut Vec<Arc<str>>,
) -> Fetched {
    let topic = match topic_names.iter().find(|t| ***t == *msg.topic()) {
        Some(t) => t.clone(),
        None => {
            let t: Arc<str> = Arc::from(msg.topic());
            topic_names.push(t.clone());
            t
        }
    };
    Fetched {
        epoch: revocations.epoch.load(AtomicOrdering::SeqCst),
        record: DeliveryRecord::from_message(msg, topic),
        routes: Vec::new(),
    }
}
