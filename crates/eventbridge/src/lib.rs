//! fanout's Amazon EventBridge target: `PutEvents` with per-entry retry.
//!
//! ```no_run
//! # async fn build(table: &fanout_router::RouteTable) -> Result<(), String> {
//! use fanout_eventbridge::EventBridgeTargets;
//!
//! let mut factory = EventBridgeTargets::from_env().await; // AWS config loaded once
//! for t in table.targets() {
//!     if let fanout_router::TargetKind::EventBridge(_) = t.kind {
//!         let target = factory.target(t)?; // Arc<dyn fanout_engine::Target>
//! #       let _ = target;
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # How it works
//!
//! - [`EventBridgeTargets`] loads the AWS configuration once and keeps one client per distinct
//!   endpoint (the standard chain, including `AWS_ENDPOINT_URL_EVENTBRIDGE`, or a target's
//!   `endpoint_url`). Clients never retry (one attempt per call: fanout's retry policy counts
//!   attempts) and have explicit [`Timeouts`].
//! - Each record becomes one entry: `EventBusName` as configured (name or ARN), `Source`,
//!   `DetailType` (a constant, or the string a JSONPath selects in the record view), `Detail`
//!   (the record's value, which must be a JSON object, or the whole record view), `Time` (the
//!   record timestamp) and `Resources`. A record that cannot become an entry fails as
//!   `invalid_payload`.
//! - An engine batch is split, in order, into requests of at most 10 entries and at most the
//!   target's `delivery.batch.max_bytes` (default 256 KB) of entry size, counted as EventBridge
//!   documents it ([`entry_size`]). An entry larger than that on its own fails as
//!   `payload_too_large`.
//! - Requests are sent one after the other. The outcome is per record
//!   ([`fanout_engine::Outcome`]): an entry EventBridge rejected (`ErrorCode`) fails alone; a
//!   request that fails as a whole is *shared* by its entries when it carried several (the
//!   engine splits them to find the one at fault) and fails its entry alone when it carried
//!   one; after a failed request the later requests are not sent and their records are *not
//!   attempted* (no attempt charged, sent again in order). Entries missing from a response
//!   fail as `unavailable` (`MissingResultEntry`) and are sent again.
//! - Failures about **the records** (dead-lettered, at once since another attempt cannot
//!   help): a record that cannot become an entry (`invalid_payload`), an entry too large
//!   (`payload_too_large`), an entry EventBridge rejects for its content (`InvalidArgument`,
//!   `MalformedDetail`, `RedactionFailure` and per-entry codes it does not document, as
//!   `invalid_payload`), and a request too large; a timeout of a sent request is retried first.
//! - Failures about **the target** (held, never dead-lettered: the lane backs off and probes
//!   until the target recovers): throttling (per entry or per request), internal failures and
//!   5xx, a bus that does not exist, access denied (also per entry:
//!   `NotAuthorizedForSourceException`, ...) and credentials, endpoints that cannot be reached,
//!   requests EventBridge rejects as configured (`ValidationException`). [`classify`] calls the
//!   shared [`fanout_aws`] tables, the same as the Lambda target's.

pub mod classify;
mod entry;
mod target;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_eventbridge::Client;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use fanout_router::TargetKind;

pub use entry::{MAX_ENTRIES, entry_size};
pub use target::PutEventsTarget;

use entry::EntrySpec;

/// Client timeouts of EventBridge calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Longest time to establish a connection (default 5 s).
    pub connect: Duration,
    /// Longest time one `PutEvents` call may take, connection included (default 30 s; keep it
    /// below the engine's `attempt_timeout`, which covers every request of a batch).
    pub call: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            call: Duration::from_secs(30),
        }
    }
}

/// Builds EventBridge targets, sharing one client per endpoint.
#[derive(Debug)]
pub struct EventBridgeTargets {
    config: SdkConfig,
    timeouts: Timeouts,
    /// Clients by endpoint override (`None`: the standard chain).
    clients: HashMap<Option<String>, Client>,
}

impl EventBridgeTargets {
    /// Loads the AWS configuration from the standard chain (environment, profile, instance
    /// metadata, ...) once.
    pub async fn from_env() -> EventBridgeTargets {
        Self::from_sdk_config(aws_config::load_defaults(BehaviorVersion::latest()).await)
    }

    /// Uses an explicit AWS configuration (e.g. in tests, instead of the process environment).
    pub fn from_sdk_config(config: SdkConfig) -> EventBridgeTargets {
        EventBridgeTargets {
            config,
            timeouts: Timeouts::default(),
            clients: HashMap::new(),
        }
    }

    /// Sets the client timeouts of targets built from now on.
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> EventBridgeTargets {
        self.timeouts = timeouts;
        self.clients.clear();
        self
    }

    /// The delivery implementation of an EventBridge target of the route table; an error when
    /// `target` is of another kind.
    pub fn target(
        &mut self,
        target: &fanout_router::Target,
    ) -> Result<Arc<dyn fanout_engine::Target>, String> {
        let TargetKind::EventBridge(eb) = &target.kind else {
            return Err(format!(
                "target {} is a {} target, not an eventbridge one",
                target.qualified_name,
                target.kind.label()
            ));
        };
        let client = self.client(eb.endpoint_url.as_deref());
        let spec = EntrySpec {
            bus: eb.bus.clone(),
            source: eb.source.clone(),
            detail_type: eb.detail_type.clone(),
            detail: eb.detail,
            resources: eb.resources.clone(),
        };
        Ok(Arc::new(PutEventsTarget::new(
            client,
            spec,
            target.delivery.batch.max_bytes.get(),
            target.qualified_name.clone(),
        )))
    }

    /// The client for an endpoint override (`None`: the configuration's own endpoint).
    fn client(&mut self, endpoint: Option<&str>) -> Client {
        let key = endpoint.map(str::to_owned);
        if let Some(client) = self.clients.get(&key) {
            return client.clone();
        }
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(self.timeouts.connect)
            .operation_attempt_timeout(self.timeouts.call)
            .operation_timeout(self.timeouts.call)
            .build();
        let mut builder = aws_sdk_eventbridge::config::Builder::from(&self.config)
            .retry_config(RetryConfig::disabled())
            .timeout_config(timeouts);
        if let Some(url) = endpoint {
            builder = builder.endpoint_url(url);
        }
        let client = Client::from_conf(builder.build());
        self.clients.insert(key, client.clone());
        client
    }
}
