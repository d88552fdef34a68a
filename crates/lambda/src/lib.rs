//! fanout's AWS Lambda target: ESM-compatible Kafka events, sync and async invocation.
//!
//! ```no_run
//! # async fn wire(table: &fanout_router::RouteTable) -> Result<(), String> {
//! let mut lambdas = fanout_lambda::LambdaTargets::from_env().await;
//! lambdas.set_bootstrap_servers("b1:9092,b2:9092");
//! for t in table.targets() {
//!     if let fanout_router::TargetKind::Lambda(_) = t.kind {
//!         let _target = lambdas.target(t)?; // an Arc<dyn fanout_engine::Target>
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # How it works
//!
//! - [`LambdaTargets`] loads the AWS configuration once (region, credentials,
//!   `AWS_ENDPOINT_URL_LAMBDA`, ...) and keeps one `aws_sdk_lambda::Client` per distinct
//!   endpoint, shared by every target using it (long-lived connections). The SDK's own retries
//!   are off (one attempt per call): the engine counts attempts and backs off by the route's
//!   policy. Connect and operation timeouts are explicit.
//! - A batch becomes one or more invocations: with `format: esm` (default), Lambda's Kafka
//!   event-source-mapping event ([`payload`] has the exact shape); with `format: record`, one
//!   invocation per record carrying its record view. Invocations are cut so each payload fits
//!   the limit (6 MiB `sync`, 1 MiB `async`, or the route's lower `batch.max_bytes`) and are
//!   made one after another in batch order. After an invocation that failed in any way, the
//!   later ones are not made: their records are *not attempted* (no attempt charged) and are
//!   sent again, in order. A record that cannot fit alone fails as `payload_too_large`.
//! - `invocation: sync` (`RequestResponse`): a record is delivered when the function returned
//!   without error. `invocation: async` (`Event`): when Lambda accepted the event; Lambda
//!   then runs it at least once, with its own retries, and in no guaranteed order (fanout only
//!   orders the hand-over). Partial-batch responses are read for `sync` + `esm` only.
//! - Outcomes, one per record ([`fanout_engine::Outcome`]). An invocation that fails as a
//!   whole is *shared* by its records when it carried several (the engine splits them to find
//!   the one at fault) and fails its record alone when it carried one (`format: record` always
//!   does). A partial-batch response
//!   `{"batchItemFailures":[{"itemIdentifier":{"partition":"<topic>-<n>","offset":<o>}}]}`
//!   fails, in each named partition, the first record named; the later records of that
//!   partition are not attempted, the other records are delivered. A response naming a
//!   record that was not sent fails the invocation like a function error.
//! - Failures about **the records** (dead-lettered once the route's attempts are spent, or at
//!   once when another attempt cannot help): a function error (`X-Amz-Function-Error`, or
//!   cargo-lambda's HTTP 500 with `errorType`), reported with the function's `errorType` as
//!   code and `errorMessage` as message ([`classify`]); a batch item failure; a timeout of a
//!   sent invocation; `payload_too_large` and `invalid_payload` (at once).
//! - Failures about **the target** (held, never dead-lettered: the lane backs off and probes
//!   until the target recovers): throttling (which also halves this target's invoke
//!   concurrency, AIMD), function not found, access denied and credentials, Lambda-side faults
//!   and functions that cannot run, endpoints that cannot be reached, requests the function
//!   rejects as configured. Everything but function errors is classified by the shared
//!   [`fanout_aws`] tables, as for the EventBridge target.

pub mod classify;
mod concurrency;
pub mod payload;
mod response;
mod target;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::timeout::TimeoutConfig;
use aws_sdk_lambda::config::{Credentials, Region};
use fanout_router::{Invocation, TargetKind};

pub use payload::EventSource;

/// Lambda's largest synchronous (`RequestResponse`) invocation payload: 6 MiB.
pub const SYNC_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;
/// Lambda's largest asynchronous (`Event`) invocation payload: 1 MiB.
pub const ASYNC_PAYLOAD_LIMIT: usize = 1024 * 1024;

/// Builds Lambda targets, sharing one SDK client per endpoint.
pub struct LambdaTargets {
    sdk: SdkConfig,
    default_endpoint: Option<String>,
    clients: HashMap<Option<String>, Client>,
    source: EventSource,
    connect_timeout: Duration,
    operation_timeout: Duration,
    max_concurrency: usize,
}

impl std::fmt::Debug for LambdaTargets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaTargets")
            .field("region", &self.sdk.region())
            .field("default_endpoint", &self.default_endpoint)
            .field("clients", &self.clients.len())
            .field("source", &self.source)
            .finish()
    }
}

/// Overrides of the standard AWS configuration chain, and target settings; see
/// [`LambdaTargets::builder`].
#[derive(Debug, Clone)]
pub struct LambdaTargetsBuilder {
    region: Option<String>,
    credentials: Option<(String, String)>,
    endpoint_url: Option<String>,
    source: EventSource,
    connect_timeout: Duration,
    operation_timeout: Duration,
    max_concurrency: usize,
}

impl LambdaTargetsBuilder {
    /// Region, instead of the chain's (`AWS_REGION`, profile, ...).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Static credentials, instead of the chain's (environment, profile, instance role, ...).
    pub fn credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some((access_key_id.into(), secret_access_key.into()));
        self
    }

    /// Endpoint for targets without their own `endpoint_url`, instead of the chain's
    /// (`AWS_ENDPOINT_URL_LAMBDA`, `AWS_ENDPOINT_URL`, or AWS).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    /// `bootstrapServers` of the ESM events (see [`LambdaTargets::set_bootstrap_servers`]).
    pub fn bootstrap_servers(mut self, servers: impl Into<String>) -> Self {
        self.source.bootstrap_servers = Some(servers.into());
        self
    }

    /// MSK cluster ARN (see [`LambdaTargets::set_event_source_arn`]).
    pub fn event_source_arn(mut self, arn: impl Into<String>) -> Self {
        self.source.event_source_arn = Some(arn.into());
        self
    }

    /// Longest wait for a connection (default 3 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest wait for one `Invoke` call, the function's run included for `sync` (default
    /// 15 min, Lambda's longest function timeout; the engine's `attempt_timeout` also bounds
    /// each attempt).
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// Most invocations in flight per target (default 1,000): the ceiling the adaptive limit
    /// starts at and recovers to after throttles.
    pub fn max_concurrency(mut self, max: usize) -> Self {
        self.max_concurrency = max.max(1);
        self
    }

    /// Loads the AWS configuration (once) with these overrides.
    pub async fn build(self) -> LambdaTargets {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = self.region {
            loader = loader.region(Region::new(region));
        }
        if let Some((id, secret)) = self.credentials {
            loader =
                loader.credentials_provider(Credentials::new(id, secret, None, None, "fanout"));
        }
        LambdaTargets {
            sdk: loader.load().await,
            default_endpoint: self.endpoint_url,
            clients: HashMap::new(),
            source: self.source,
            connect_timeout: self.connect_timeout,
            operation_timeout: self.operation_timeout,
            max_concurrency: self.max_concurrency,
        }
    }
}

impl LambdaTargets {
    /// Settings to override before loading the AWS configuration.
    pub fn builder() -> LambdaTargetsBuilder {
        LambdaTargetsBuilder {
            region: None,
            credentials: None,
            endpoint_url: None,
            source: EventSource::default(),
            connect_timeout: Duration::from_secs(3),
            operation_timeout: Duration::from_secs(15 * 60),
            max_concurrency: 1_000,
        }
    }

    /// Loads the standard AWS configuration chain (region, credentials, endpoints) once.
    pub async fn from_env() -> LambdaTargets {
        Self::builder().build().await
    }

    /// Sets the `bootstrapServers` of the ESM events (the Kafka `bootstrap.servers`, as
    /// functions use it to tell clusters apart); omitted from events when never set. Applies
    /// to targets built afterwards.
    pub fn set_bootstrap_servers(&mut self, servers: impl Into<String>) {
        self.source.bootstrap_servers = Some(servers.into());
    }

    /// Sets the MSK cluster ARN: the ESM events then say `"eventSource":"aws:kafka"` with this
    /// `eventSourceArn`, as for an Amazon MSK event source mapping (default:
    /// `"SelfManagedKafka"`). Applies to targets built afterwards.
    pub fn set_event_source_arn(&mut self, arn: impl Into<String>) {
        self.source.event_source_arn = Some(arn.into());
    }

    fn client(&mut self, endpoint: Option<&str>) -> Client {
        let endpoint = endpoint
            .map(str::to_owned)
            .or_else(|| self.default_endpoint.clone());
        let (sdk, connect, operation) = (&self.sdk, self.connect_timeout, self.operation_timeout);
        self.clients
            .entry(endpoint)
            .or_insert_with_key(|endpoint| {
                let mut config = aws_sdk_lambda::config::Builder::from(sdk)
                    .retry_config(RetryConfig::standard().with_max_attempts(1))
                    .timeout_config(
                        TimeoutConfig::builder()
                            .connect_timeout(connect)
                            .operation_timeout(operation)
                            .build(),
                    );
                if let Some(url) = endpoint {
                    config = config.endpoint_url(url);
                }
                Client::from_conf(config.build())
            })
            .clone()
    }

    /// The implementation of one `lambda` target of the route table; an error (for the
    /// operator) when it is not a Lambda target.
    pub fn target(
        &mut self,
        target: &fanout_router::Target,
    ) -> Result<Arc<dyn fanout_engine::Target>, String> {
        let TargetKind::Lambda(lambda) = &target.kind else {
            return Err(format!(
                "{} is a {} target, not a Lambda target",
                target.qualified_name,
                target.kind.label()
            ));
        };
        if self.sdk.region().is_none() {
            return Err(
                "no AWS region is configured: set AWS_REGION (or a region in the AWS profile)"
                    .into(),
            );
        }
        let hard_limit = match lambda.invocation {
            Invocation::Sync => SYNC_PAYLOAD_LIMIT,
            Invocation::Async => ASYNC_PAYLOAD_LIMIT,
        };
        Ok(Arc::new(target::FunctionTarget {
            client: self.client(lambda.endpoint_url.as_deref()),
            name: target.qualified_name.clone(),
            function: lambda.function.clone(),
            qualifier: lambda.qualifier.clone(),
            invocation: lambda.invocation,
            format: lambda.format,
            source: self.source.clone(),
            limit: hard_limit.min(target.delivery.batch.max_bytes.get()),
            limiter: concurrency::Limiter::new(self.max_concurrency),
        }))
    }
}
