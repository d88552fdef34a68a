//! fanout's one classification of AWS errors, shared by the Lambda and EventBridge targets.
//!
//! ```
//! use fanout_aws::{entry_failure, kind_of_code, service_failure};
//! use fanout_engine::{Cause, FailureKind};
//!
//! assert_eq!(kind_of_code("ExpiredTokenException"), Some(FailureKind::AccessDenied));
//! let f = service_failure(404, None, None, br#"{"title":"Missing function"}"#);
//! assert_eq!((f.kind, f.cause()), (FailureKind::NotFound, Cause::Target));
//! assert_eq!(entry_failure("MalformedDetail", None).cause(), Cause::Record);
//! ```
//!
//! # How it works
//!
//! A failure names *what* happened as a [`fanout_engine::FailureKind`]; the engine's
//! [`fanout_engine::Failure::cause`] says whom it is about and
//! [`fanout_engine::Failure::is_retryable`] whether another attempt is worth making. This
//! crate only chooses the kind, in one place, from tables whose every row says why:
//!
//! - [`REQUEST_CODES`]: the error code of a whole request (Lambda's `Invoke`, EventBridge's
//!   `PutEvents`, and the errors common to AWS APIs) → kind. Throttling, missing resources,
//!   access and credentials, service faults and functions that cannot run are about the
//!   **target**: they hold its lanes and never dead-letter a record. A payload too large or
//!   not JSON is about the **records** sent.
//! - [`STATUSES`]: the HTTP status of an error response without a known code.
//! - [`ENTRY_CODES`]: EventBridge's per-entry `ErrorCode`s. An entry rejected while its
//!   siblings passed is about that record (`invalid_payload`), unless the code names a target
//!   problem (throttling, internal failure, access), which keeps its target kind.
//! - [`request_failure`]: any `SdkError` of one call (timeouts, connection and credential
//!   failures, unreadable responses, error responses) → [`fanout_engine::Failure`]; the table
//!   of SDK errors is in the [`sdk`] module.
//!
//! Lambda's function errors (`X-Amz-Function-Error`, or cargo-lambda's HTTP 500 with
//! `errorType`) are specific to Lambda and decided in `fanout-lambda` before it calls
//! [`request_failure`].

pub mod codes;
pub mod sdk;
#[cfg(test)]
mod tests;

pub use codes::{
    ENTRY_CODES, REQUEST_CODES, Rule, STATUSES, kind_of_code, kind_of_entry_code, kind_of_status,
};
pub use sdk::{MAX_MESSAGE, body_text, entry_failure, request_failure, service_failure};
