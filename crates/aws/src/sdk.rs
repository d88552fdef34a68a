//! Whole-request failures: an error response, or any `SdkError` of one call.
//!
//! What the SDK reports besides a service's error response, and why:
//!
//! | SDK error | kind | code | why |
//! |---|---|---|---|
//! | `TimeoutError` | `timeout` | `OperationTimeout` | the request was sent and no answer came in the call's time: the function ran too long on these records (record cause, retried, bisected) |
//! | `DispatchFailure`, connect timeout | `unavailable` | `ConnectTimeout` | no connection within the connect timeout: nothing was sent |
//! | `DispatchFailure`, I/O | `unavailable` | `DispatchFailure` | connection refused or reset, DNS: the endpoint is unreachable |
//! | `DispatchFailure`, user | `invalid_request` | `InvalidEndpoint` | the request cannot be sent as built (a bad endpoint URL): configuration |
//! | `DispatchFailure` or `ConstructionFailure` with a credentials error | `access_denied` | `CredentialsError` | no credentials could be loaded: configuration or environment |
//! | `DispatchFailure` or `ConstructionFailure` with an endpoint error | `invalid_request` | `EndpointResolution` | no endpoint for this region/configuration (e.g. no region) |
//! | other `DispatchFailure` | `unavailable` | `DispatchFailure` | the request could not be sent (a transport error the SDK does not classify) |
//! | other `ConstructionFailure` | `invalid_request` | `ConstructionFailure` | the SDK could not build the request: configuration |
//! | `ResponseError` | `unavailable` | `ResponseError` | an answer came but could not be read (truncated, not the service's format): the endpoint misbehaves |
//! | `ServiceError` | see [`service_failure`] | the service's code, or `HTTP<status>` | the service's error response |

use std::error::Error;

use aws_credential_types::provider::error::CredentialsError;
use aws_smithy_runtime_api::client::endpoint::error::ResolveEndpointError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::{DispatchFailure, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use fanout_engine::{Failure, FailureKind};

use crate::codes::{kind_of_code, kind_of_entry_code, kind_of_status};

/// Longest message kept from a response body.
pub const MAX_MESSAGE: usize = 1024;

/// A service's error response: HTTP `status`, the error `code` the SDK parsed (if any), its
/// `message`, and the raw `body`. A known code decides the kind ([`crate::REQUEST_CODES`]);
/// otherwise the status does ([`crate::STATUSES`]). The code reported is the service's, or
/// `HTTP<status>` when it sent none; the message is the service's, or the status and the start
/// of the body.
pub fn service_failure(
    status: u16,
    code: Option<&str>,
    message: Option<&str>,
    body: &[u8],
) -> Failure {
    let code = code.filter(|c| !c.is_empty());
    let kind = code
        .and_then(kind_of_code)
        .unwrap_or_else(|| kind_of_status(status));
    let code = code.map_or_else(|| format!("HTTP{status}"), str::to_owned);
    let message = match message {
        Some(m) => m.to_owned(),
        None => format!("HTTP {status}: {}", body_text(body)),
    };
    Failure::new(kind, code, message)
}

/// The failure of one whole request, from any error the SDK returns for it (see the module
/// table). Target crates call this for every failed call; only what is specific to one service
/// (Lambda's function errors) is decided before, in that crate.
pub fn request_failure<E>(err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + Error + 'static,
{
    // The SDK's text of the error and its sources (which can hold the whole request), cut.
    let text = || body_text(DisplayErrorContext(err).to_string().as_bytes());
    match err {
        SdkError::ServiceError(ctx) => {
            let raw = ctx.raw();
            service_failure(
                raw.status().as_u16(),
                ctx.err().code(),
                ctx.err().message(),
                raw.body().bytes().unwrap_or_default(),
            )
        }
        SdkError::TimeoutError(_) => Failure::new(FailureKind::Timeout, "OperationTimeout", text()),
        SdkError::DispatchFailure(d) => {
            let (kind, code) = dispatch_kind(d, err);
            Failure::new(kind, code, text())
        }
        SdkError::ResponseError(_) => {
            Failure::new(FailureKind::Unavailable, "ResponseError", text())
        }
        SdkError::ConstructionFailure(_) => {
            let (kind, code) =
                setup_kind(err).unwrap_or((FailureKind::InvalidRequest, "ConstructionFailure"));
            Failure::new(kind, code, text())
        }
        _ => Failure::new(FailureKind::Unavailable, "SdkError", text()),
    }
}

fn dispatch_kind(d: &DispatchFailure, err: &(dyn Error + 'static)) -> (FailureKind, &'static str) {
    if d.is_timeout() {
        (FailureKind::Unavailable, "ConnectTimeout")
    } else if d.is_io() {
        (FailureKind::Unavailable, "DispatchFailure")
    } else if d.is_user() {
        (FailureKind::InvalidRequest, "InvalidEndpoint")
    } else {
        // Credentials and endpoints are resolved just before sending, so the SDK reports their
        // failures as dispatch failures of kind "other".
        setup_kind(err).unwrap_or((FailureKind::Unavailable, "DispatchFailure"))
    }
}

/// A credentials or endpoint resolution error anywhere in the error's chain.
fn setup_kind(err: &(dyn Error + 'static)) -> Option<(FailureKind, &'static str)> {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.is::<CredentialsError>() {
            return Some((FailureKind::AccessDenied, "CredentialsError"));
        }
        // The generated SDKs' endpoint rules fail with smithy-http's type; the runtime's own
        // endpoint handling with the runtime API's.
        if e.is::<aws_smithy_http::endpoint::ResolveEndpointError>()
            || e.is::<ResolveEndpointError>()
        {
            return Some((FailureKind::InvalidRequest, "EndpointResolution"));
        }
        next = e.source();
    }
    None
}

/// The failure of one EventBridge result entry that carries an `ErrorCode` (see
/// [`crate::ENTRY_CODES`]): about that entry alone.
pub fn entry_failure(code: &str, message: Option<&str>) -> Failure {
    Failure::new(kind_of_entry_code(code), code, message.unwrap_or_default())
}

/// A response body as text for an error message, cut at [`MAX_MESSAGE`] bytes.
pub fn body_text(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.len() <= MAX_MESSAGE {
        return text.into_owned();
    }
    let mut end = MAX_MESSAGE;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
