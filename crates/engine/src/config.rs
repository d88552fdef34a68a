//! The dispatcher configuration file (`fanout.yaml`): Kafka, the DLQ topic, the routes
//! directory and engine limits. `${ENV}` references are substituted as in route files.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::time::Duration;

use fanout_router::config::{load_source, parse_byte_size, parse_duration};
use serde::Deserialize;
use serde_json::Value;

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatcherConfigFile {
    /// Kafka connection and consumer group.
    pub kafka: KafkaConfigFile,
    /// Dead-letter queue.
    pub dlq: DlqConfigFile,
    /// Directory of route files (relative to the config file's directory), default `routes`.
    #[serde(default)]
    pub routes: Option<PathBuf>,
    /// Engine limits and timings.
    #[serde(default)]
    pub engine: EngineConfigFile,
    /// Metrics and health endpoint.
    #[serde(default)]
    pub metrics: Option<MetricsConfigFile>,
}

/// Metrics and health endpoint settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfigFile {
    /// `host:port` serving `/metrics` (Prometheus text), `/healthz` and `/readyz`.
    pub address: String,
}

/// Kafka settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfigFile {
    /// `host:port[,host:port…]`.
    pub bootstrap_servers: String,
    /// The one consumer group fanout uses.
    pub group_id: String,
    /// Any librdkafka property (e.g. `security.protocol: SASL_SSL`, `sasl.mechanism`,
    /// `session.timeout.ms`), passed through to the consumer and the DLQ producer.
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
}

/// DLQ settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DlqConfigFile {
    /// Topic that receives records whose delivery failed for good. It must exist.
    pub topic: String,
    /// librdkafka properties for the DLQ producer only, applied last (e.g.
    /// `message.max.bytes`, `compression.type`). By default the producer shares `kafka`'s
    /// connection settings and is sized for the largest record the consumer can receive.
    #[serde(default)]
    pub properties: BTreeMap<String, Value>,
}

/// Engine limits and timings; all optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineConfigFile {
    /// How often finished offsets are committed (default `1s`).
    pub commit_interval: Option<String>,
    /// Records buffered or in flight per partition before it is paused (default 5000).
    pub max_buffered_records: Option<usize>,
    /// Memory buffered or in flight per partition before it is paused (default `16MB`; a
    /// record counts three times its bytes plus 512: allocator overhead and what targets build
    /// from it while delivering).
    pub max_buffered_bytes: Option<Value>,
    /// Memory buffered or in flight across all partitions before the partitions that fetch
    /// more are paused too (default `96MB`, counted like `max_buffered_bytes`).
    pub max_buffered_bytes_total: Option<Value>,
    /// On shutdown, how long lanes may keep delivering what they hold (default `30s`).
    pub drain_timeout: Option<String>,
    /// On partition revoke, how long in-flight batches may finish (default `10s`).
    pub revoke_timeout: Option<String>,
    /// Longest time one delivery attempt may take before it counts as a timeout (default `60s`).
    pub attempt_timeout: Option<String>,
}

/// The checked configuration the engine runs with. Its `Debug` output redacts secrets.
#[derive(Clone)]
pub struct EngineConfig {
    /// librdkafka properties for the consumer (bootstrap, group, passthrough).
    pub kafka: BTreeMap<String, String>,
    /// DLQ topic.
    pub dlq_topic: String,
    /// librdkafka properties of the DLQ producer only (applied after fanout's sizing).
    pub dlq_properties: BTreeMap<String, String>,
    /// Commit period.
    pub commit_interval: Duration,
    /// Per-partition record cap.
    pub max_buffered_records: NonZeroUsize,
    /// Per-partition byte cap.
    pub max_buffered_bytes: NonZeroUsize,
    /// Byte cap across all partitions.
    pub max_buffered_bytes_total: NonZeroUsize,
    /// Shutdown drain deadline.
    pub drain_timeout: Duration,
    /// Revoke deadline.
    pub revoke_timeout: Duration,
    /// Per-attempt timeout.
    pub attempt_timeout: Duration,
}

/// Is this librdkafka property a secret (never printed)?
pub fn is_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    ["password", "secret", "token", "private", ".key.pem", "jaas"]
        .iter()
        .any(|s| k.contains(s))
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("kafka", &redacted(&self.kafka))
            .field("dlq_topic", &self.dlq_topic)
            .field("dlq_properties", &redacted(&self.dlq_properties))
            .field("commit_interval", &self.commit_interval)
            .field("max_buffered_records", &self.max_buffered_records)
            .field("max_buffered_bytes", &self.max_buffered_bytes)
            .field("max_buffered_bytes_total", &self.max_buffered_bytes_total)
            .field("drain_timeout", &self.drain_timeout)
            .field("revoke_timeout", &self.revoke_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish()
    }
}

/// Properties with secret values replaced, for printing.
fn redacted(properties: &BTreeMap<String, String>) -> BTreeMap<&str, &str> {
    properties
        .iter()
        .map(|(k, v)| {
            let v = if is_secret(k) {
                "[redacted]"
            } else {
                v.as_str()
            };
            (k.as_str(), v)
        })
        .collect()
}

impl EngineConfig {
    /// A configuration with default limits.
    pub fn new(bootstrap_servers: &str, group_id: &str, dlq_topic: &str) -> EngineConfig {
        let mut kafka = BTreeMap::new();
        kafka.insert("bootstrap.servers".into(), bootstrap_servers.into());
        kafka.insert("group.id".into(), group_id.into());
        EngineConfig {
            kafka,
            dlq_topic: dlq_topic.into(),
            dlq_properties: BTreeMap::new(),
            commit_interval: Duration::from_secs(1),
            max_buffered_records: NonZeroUsize::new(5_000).expect("non-zero"),
            max_buffered_bytes: NonZeroUsize::new(16 << 20).expect("non-zero"),
            max_buffered_bytes_total: NonZeroUsize::new(96 << 20).expect("non-zero"),
            drain_timeout: Duration::from_secs(30),
            revoke_timeout: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(60),
        }
    }

    /// Sets a librdkafka property.
    pub fn kafka_property(mut self, key: &str, value: &str) -> Self {
        self.kafka.insert(key.into(), value.into());
        self
    }
}

/// A problem in the configuration file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {field}{sep}{message}", sep = if field.is_empty() { "" } else { ": " })]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Field path.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// A loaded configuration: the engine settings and the routes directory.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// Engine settings.
    pub engine: EngineConfig,
    /// Routes directory as written (relative paths are relative to the config file).
    pub routes: PathBuf,
    /// Where to serve metrics and health, if anywhere.
    pub metrics_address: Option<std::net::SocketAddr>,
}

/// Parses and checks a configuration file's text; `env` resolves `${NAME}`.
pub fn parse_config(
    file: &str,
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<LoadedConfig, Vec<ConfigError>> {
    let source = load_source(text, env).map_err(|e| {
        vec![ConfigError {
            file: file.into(),
            line: e.line,
            column: e.column,
            field: e.path,
            message: e.message,
        }]
    })?;
    let error = |field: &str, message: String| {
        let (line, column) = source.position(field);
        ConfigError {
            file: file.into(),
            line,
            column,
            field: field.into(),
            message,
        }
    };
    let mut errors: Vec<ConfigError> = source
        .errors
        .iter()
        .map(|e| error(&e.path, e.message.clone()))
        .collect();
    let cfg: DispatcherConfigFile = match serde_path_to_error::deserialize(&source.value) {
        Ok(c) => c,
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            errors.push(error(&path, e.into_inner().to_string()));
            return Err(errors);
        }
    };
    let mut engine = EngineConfig::new(
        &cfg.kafka.bootstrap_servers,
        &cfg.kafka.group_id,
        &cfg.dlq.topic,
    );
    for (key, value) in &cfg.kafka.properties {
        let field = format!("kafka.properties.{key}");
        let Some(text) = property_text(value) else {
            errors.push(error(
                &field,
                format!("librdkafka properties are strings, numbers or booleans, not {value}"),
            ));
            continue;
        };
        if matches!(
            key.as_str(),
            "enable.auto.commit" | "enable.auto.offset.store"
        ) {
            errors.push(error(
                &field,
                format!("`{key}` is managed by fanout (offsets are committed only once delivered)"),
            ));
        }
        engine.kafka.insert(key.clone(), text);
    }
    for (key, value) in &cfg.dlq.properties {
        match property_text(value) {
            Some(text) => {
                engine.dlq_properties.insert(key.clone(), text);
            }
            None => errors.push(error(
                &format!("dlq.properties.{key}"),
                format!("librdkafka properties are strings, numbers or booleans, not {value}"),
            )),
        }
    }
    if cfg.dlq.topic.is_empty() {
        errors.push(error("dlq.topic", "the DLQ topic must be named".into()));
    }
    let e = &cfg.engine;
    let mut duration = |field: &str, text: &Option<String>, into: &mut Duration| {
        if let Some(t) = text {
            match parse_duration(t) {
                Ok(d) if d.is_zero() => errors.push(error(
                    &format!("engine.{field}"),
                    format!("`{t}`: must be more than 0, e.g. `1s`"),
                )),
                Ok(d) => *into = d,
                Err(m) => errors.push(error(&format!("engine.{field}"), m)),
            }
        }
    };
    duration(
        "commit_interval",
        &e.commit_interval,
        &mut engine.commit_interval,
    );
    duration("drain_timeout", &e.drain_timeout, &mut engine.drain_timeout);
    duration(
        "revoke_timeout",
        &e.revoke_timeout,
        &mut engine.revoke_timeout,
    );
    duration(
        "attempt_timeout",
        &e.attempt_timeout,
        &mut engine.attempt_timeout,
    );
    if let Some(n) = e.max_buffered_records {
        match NonZeroUsize::new(n) {
            Some(n) => engine.max_buffered_records = n,
            None => errors.push(error(
                "engine.max_buffered_records",
                "must be at least 1".into(),
            )),
        }
    }
    for (name, value, slot) in [
        (
            "engine.max_buffered_bytes",
            &e.max_buffered_bytes,
            &mut engine.max_buffered_bytes,
        ),
        (
            "engine.max_buffered_bytes_total",
            &e.max_buffered_bytes_total,
            &mut engine.max_buffered_bytes_total,
        ),
    ] {
        let Some(v) = value else { continue };
        let parsed = match v {
            Value::Number(n) => n.as_u64().ok_or_else(|| format!("`{n}` is not a size")),
            Value::String(s) => parse_byte_size(s),
            other => Err(format!("`{other}` is not a size")),
        };
        match parsed.map(|b| NonZeroUsize::new(b as usize)) {
            Ok(Some(b)) => *slot = b,
            Ok(None) => errors.push(error(name, "must be at least 1".into())),
            Err(m) => errors.push(error(name, m)),
        }
    }
    if engine.max_buffered_bytes_total < engine.max_buffered_bytes {
        errors.push(error(
            "engine.max_buffered_bytes_total",
            format!(
                "{} bytes is less than max_buffered_bytes ({} bytes): one partition would pause every other",
                engine.max_buffered_bytes_total, engine.max_buffered_bytes
            ),
        ));
    }
    let metrics_address = match &cfg.metrics {
        None => None,
        Some(m) => match m.address.parse() {
            Ok(a) => Some(a),
            Err(e) => {
                errors.push(error(
                    "metrics.address",
                    format!(
                        "`{}` is not a host:port address ({e}), e.g. `0.0.0.0:9464`",
                        m.address
                    ),
                ));
                None
            }
        },
    };
    if errors.is_empty() {
        Ok(LoadedConfig {
            engine,
            routes: cfg.routes.unwrap_or_else(|| PathBuf::from("routes")),
            metrics_address,
        })
    } else {
        Err(errors)
    }
}

/// A librdkafka property value as text (`None` for lists and maps).
fn property_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "BROKER").then(|| "10.0.0.1:9092".into())
    }

    #[test]
    fn parses_with_env_and_passthrough_properties() {
        let text = "kafka:\n  bootstrap_servers: ${BROKER}\n  group_id: g\n  properties:\n    session.timeout.ms: 2000\n    security.protocol: SASL_SSL\ndlq:\n  topic: dlq\nengine:\n  commit_interval: 250ms\n  max_buffered_bytes: 1MB\n  max_buffered_bytes_total: 8MB\n";
        let cfg = parse_config("fanout.yaml", text, &env).unwrap();
        assert_eq!(cfg.engine.kafka["bootstrap.servers"], "10.0.0.1:9092");
        assert_eq!(cfg.engine.kafka["session.timeout.ms"], "2000");
        assert_eq!(cfg.engine.kafka["security.protocol"], "SASL_SSL");
        assert_eq!(cfg.engine.commit_interval, Duration::from_millis(250));
        assert_eq!(cfg.engine.max_buffered_bytes.get(), 1 << 20);
        assert_eq!(cfg.engine.max_buffered_bytes_total.get(), 8 << 20);
        assert_eq!(cfg.routes, PathBuf::from("routes"));
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let text = "kafka:\n  bootstrap_servers: b\n  group_id: g\n  properties:\n    sasl.username: alice\n    sasl.password: hunter2\n    ssl.key.password: k3y\ndlq:\n  topic: d\nmetrics:\n  address: 127.0.0.1:9464\n";
        let cfg = parse_config("f.yaml", text, &env).unwrap();
        let shown = format!("{:?}", cfg.engine);
        assert!(shown.contains("alice"), "{shown}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("k3y"),
            "{shown}"
        );
        assert_eq!(cfg.metrics_address, Some("127.0.0.1:9464".parse().unwrap()));
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let text =
            "kafka:\n  bootstrap_servers: b\n  group_id: g\n  colour: red\ndlq:\n  topic: d\n";
        let errs = parse_config("fanout.yaml", text, &env).unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "fanout.yaml:4:3: kafka.colour: unknown field `colour`, expected one of `bootstrap_servers`, `group_id`, `properties`"
        );
        let text = "kafka:\n  bootstrap_servers: b\n  group_id: g\n  properties: {enable.auto.commit: true}\ndlq:\n  topic: d\nengine:\n  drain_timeout: 5 parsecs\n";
        let errs = parse_config("f.yaml", text, &env).unwrap_err();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].message.contains("managed by fanout"));
        assert!(errs[1].message.contains("is not a duration"));
    }

    /// Values that cannot work are rejected with their location, all at once.
    #[test]
    fn values_that_cannot_work_are_rejected() {
        let text = "kafka:\n  bootstrap_servers: b\n  group_id: g\ndlq:\n  topic: d\n  properties: {message.max.bytes: [1]}\nengine:\n  commit_interval: 0s\n  drain_timeout: 0ms\n  revoke_timeout: 0s\n  attempt_timeout: 0s\n  max_buffered_records: 0\n  max_buffered_bytes: 2MB\n  max_buffered_bytes_total: 1MB\n";
        let errs: Vec<String> = parse_config("f.yaml", text, &env)
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            errs,
            [
                "f.yaml:6:16: dlq.properties.message.max.bytes: librdkafka properties are strings, numbers or booleans, not [1]",
                "f.yaml:8:3: engine.commit_interval: `0s`: must be more than 0, e.g. `1s`",
                "f.yaml:9:3: engine.drain_timeout: `0ms`: must be more than 0, e.g. `1s`",
                "f.yaml:10:3: engine.revoke_timeout: `0s`: must be more than 0, e.g. `1s`",
                "f.yaml:11:3: engine.attempt_timeout: `0s`: must be more than 0, e.g. `1s`",
                "f.yaml:12:3: engine.max_buffered_records: must be at least 1",
                "f.yaml:14:3: engine.max_buffered_bytes_total: 1048576 bytes is less than max_buffered_bytes (2097152 bytes): one partition would pause every other",
            ]
        );
    }

    #[test]
    fn dlq_properties_are_kept_and_redacted_when_secret() {
        let text = "kafka:\n  bootstrap_servers: b\n  group_id: g\ndlq:\n  topic: d\n  properties: {message.max.bytes: 2000000, sasl.password: s3cret}\n";
        let cfg = parse_config("f.yaml", text, &env).unwrap();
        assert_eq!(cfg.engine.dlq_properties["message.max.bytes"], "2000000");
        let shown = format!("{:?}", cfg.engine);
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
