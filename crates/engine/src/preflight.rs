//! Startup checks: before consuming anything, the broker must answer and the DLQ topic and
//! every source topic must exist.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::config::EngineConfig;

/// Why the dispatcher must not start.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    /// No broker answered.
    #[error("cannot reach Kafka at {bootstrap}: {source}")]
    Unreachable {
        /// The bootstrap servers tried.
        bootstrap: String,
        /// The client's error.
        source: rdkafka::error::KafkaError,
    },
    /// The DLQ topic does not exist.
    #[error("DLQ topic `{0}` does not exist; create it first (fanout never creates topics)")]
    MissingDlq(String),
    /// Source topics do not exist.
    #[error("source topic(s) {0:?} do not exist")]
    MissingTopics(Vec<String>),
}

/// Checks the broker, the DLQ topic and the source topics, within `timeout`.
pub fn preflight(
    config: &EngineConfig,
    topics: &[&str],
    timeout: Duration,
) -> Result<(), PreflightError> {
    let bootstrap = config
        .kafka
        .get("bootstrap.servers")
        .cloned()
        .unwrap_or_default();
    let mut client = ClientConfig::new();
    for (k, v) in &config.kafka {
        client.set(k, v);
    }
    let consumer: BaseConsumer = client
        .create()
        .map_err(|source| PreflightError::Unreachable {
            bootstrap: bootstrap.clone(),
            source,
        })?;
    // All topics: asking for one by name may auto-create it on some brokers.
    let metadata = consumer
        .fetch_metadata(None, timeout)
        .map_err(|source| PreflightError::Unreachable { bootstrap, source })?;
    let exists = |name: &str| {
        metadata
            .topics()
            .iter()
            .any(|t| t.name() == name && t.error().is_none())
    };
    if !exists(&config.dlq_topic) {
        return Err(PreflightError::MissingDlq(config.dlq_topic.clone()));
    }
    let missing: Vec<String> = topics
        .iter()
        .filter(|t| !exists(t))
        .map(|t| t.to_string())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(PreflightError::MissingTopics(missing))
    }
}
