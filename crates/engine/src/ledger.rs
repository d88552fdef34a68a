//! The ledger target: appends every delivered record to a JSON-lines file.
//!
//! Useful to see what a route would deliver, and the test target of fanout's own delivery
//! guarantees: it can fail or slow down on purpose (`fail_first`, `fail_keys`,
//! `permanent_keys`, `delay`, `stall`).
//!
//! Settings (`custom: {kind: ledger, settings: {...}}`):
//! - `path` (required): the file to append to;
//! - `fail_first`: fail the first N attempts of every record (retryable `function_error`);
//! - `fail_keys`: records with these keys always fail (retryable `function_error`);
//! - `permanent_keys`: records with these keys fail with a permanent `invalid_payload`;
//! - `panic_keys`: a batch holding a record with one of these keys panics inside `deliver`;
//! - `down_while`: while this file exists, every batch fails as `unavailable` (the target is
//!   down: records are held, never dead-lettered);
//! - `delay`: wait this long (e.g. `50ms`) before answering each batch;
//! - `stall`: never answer (the engine's attempt timeout applies).
//!
//! Each line: `{"target","topic","partition","offset","key","attempt","batch"}` where `batch`
//! counts the batches this target instance has answered.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use crate::target::{Delivery, DeliveryRecord, Failure, FailureKind, Outcome, Target};

/// Ledger settings as written in a route file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerSettings {
    /// File to append delivered records to.
    pub path: PathBuf,
    /// Fail the first N attempts of every record.
    #[serde(default)]
    pub fail_first: u32,
    /// Keys that always fail (retryable).
    #[serde(default)]
    pub fail_keys: Vec<String>,
    /// Keys that fail permanently.
    #[serde(default)]
    pub permanent_keys: Vec<String>,
    /// Keys whose batches panic.
    #[serde(default)]
    pub panic_keys: Vec<String>,
    /// While this file exists the target is down (`unavailable`).
    #[serde(default)]
    pub down_while: Option<PathBuf>,
    /// Delay before answering each batch, e.g. `50ms`.
    #[serde(default)]
    pub delay: Option<String>,
    /// Never answer.
    #[serde(default)]
    pub stall: bool,
}

/// (topic, partition, offset).
type RecordId = (Arc<str>, i32, i64);

/// A target writing delivered records to a JSON-lines file.
#[derive(Debug)]
pub struct LedgerTarget {
    name: String,
    settings: LedgerSettings,
    delay: Duration,
    file: Mutex<File>,
    attempts: Mutex<HashMap<RecordId, u32>>,
    batches: AtomicU64,
}

impl LedgerTarget {
    /// Opens (appends to) the ledger file. `name` is written on every line.
    pub fn new(name: &str, settings: LedgerSettings) -> Result<LedgerTarget, String> {
        let delay = match &settings.delay {
            Some(d) => fanout_router::config::parse_duration(d)?,
            None => Duration::ZERO,
        };
        let cannot =
            |e: std::io::Error| format!("cannot open ledger {}: {e}", settings.path.display());
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(&settings.path)
            .map_err(cannot)?;
        // A process killed mid-write leaves a torn last line: start on a line of our own.
        if ends_mid_line(&mut file).map_err(cannot)? {
            file.write_all(b"\n").map_err(cannot)?;
        }
        Ok(LedgerTarget {
            name: name.to_owned(),
            settings,
            delay,
            file: Mutex::new(file),
            attempts: Mutex::new(HashMap::new()),
            batches: AtomicU64::new(0),
        })
    }

    /// Builds a ledger from a custom target's `settings` value.
    pub fn from_settings(name: &str, settings: &serde_json::Value) -> Result<LedgerTarget, String> {
        let settings: LedgerSettings = serde_json::from_value(settings.clone())
            .map_err(|e| format!("ledger settings of {name}: {e}"))?;
        LedgerTarget::new(name, settings)
    }

    fn outcome(&self, record: &DeliveryRecord, attempt: u32) -> Option<Failure> {
        let key = record
            .key
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        if self.settings.permanent_keys.iter().any(|k| *k == key) {
            return Some(Failure::new(
                FailureKind::InvalidPayload,
                "PermanentKey",
                format!("key {key} is configured to fail permanently"),
            ));
        }
        if self.settings.fail_keys.iter().any(|k| *k == key) {
            return Some(Failure::new(
                FailureKind::FunctionError,
                "FailKey",
                format!("key {key} is configured to always fail"),
            ));
        }
        (attempt <= self.settings.fail_first).then(|| {
            Failure::new(
                FailureKind::FunctionError,
                "FailFirst",
                format!(
                    "attempt {attempt} of {} configured to fail",
                    self.settings.fail_first
                ),
            )
        })
    }
}

/// Does the file's last byte end a line? False for an empty file.
fn ends_mid_line(file: &mut File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8];
    file.read_exact(&mut last)?;
    Ok(last[0] != b'\n')
}

#[async_trait]
impl Target for LedgerTarget {
    async fn deliver(&self, batch: &[Arc<DeliveryRecord>]) -> Result<Delivery, Failure> {
        if self.settings.stall {
            std::future::pending::<()>().await;
        }
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if let Some(path) = &self.settings.down_while
            && path.exists()
        {
            return Err(Failure::new(
                FailureKind::Unavailable,
                "LedgerDown",
                format!("{} exists", path.display()),
            ));
        }
        if let Some(key) = batch
            .iter()
            .filter_map(|r| r.key.as_deref())
            .map(String::from_utf8_lossy)
            .find(|k| self.settings.panic_keys.iter().any(|p| p == k))
        {
            panic!("ledger configured to panic on key {key:?}");
        }
        let batch_no = self.batches.fetch_add(1, Ordering::Relaxed) + 1;
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut lines = String::new();
        {
            let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
            for r in batch {
                let n = attempts
                    .entry((r.topic.clone(), r.partition, r.offset))
                    .or_insert(0);
                *n += 1;
                let outcome = self.outcome(r, *n);
                if outcome.is_none() {
                    let line = json!({
                        "target": self.name, "topic": &*r.topic, "partition": r.partition,
                        "offset": r.offset,
                        "key": r.key.as_deref().map(String::from_utf8_lossy),
                        "attempt": *n, "batch": batch_no,
                    });
                    lines.push_str(&line.to_string());
                    lines.push('\n');
                }
                outcomes.push(outcome.map_or(Outcome::Delivered, Outcome::Failed));
            }
        }
        self.file
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .write_all(lines.as_bytes())
            .map_err(|e| Failure::new(FailureKind::Unavailable, "LedgerWrite", e.to_string()))?;
        Ok(Delivery::from_outcomes(outcomes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_ended_before_appending() {
        let path = std::env::temp_dir().join(format!("ledger-torn-{}.jsonl", std::process::id()));
        std::fs::write(&path, "{\"offset\":1}\n{\"off").unwrap();
        let settings = serde_json::json!({"path": path});
        LedgerTarget::from_settings("t", &settings).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"offset\":1}\n{\"off\n"
        );
        // A whole last line is left as it is.
        LedgerTarget::from_settings("t", &settings).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"offset\":1}\n{\"off\n"
        );
        std::fs::remove_file(&path).unwrap();
    }
}
