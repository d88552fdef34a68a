//! Turning EventBridge errors into [`Failure`]s: whole-request errors of `PutEvents` and the
//! `ErrorCode` of single result entries.
//!
//! This module only names *what* happened ([`FailureKind`]); whether that is worth another
//! attempt is decided by [`Failure::is_retryable`], nowhere here.

use aws_sdk_eventbridge::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_eventbridge::operation::put_events::PutEventsError;
use fanout_engine::{Failure, FailureKind};

/// The kind of failure an AWS error code names, when the code is one we know.
///
/// Used for both whole-request errors (`__type` of the response) and per-entry `ErrorCode`s,
/// which share one vocabulary (the EventBridge API reference lists the per-entry codes with
/// the common errors).
pub fn kind_for_code(code: &str) -> Option<FailureKind> {
    let kind = match code {
        // Throttling codes AWS services use (the SDKs' standard retry classifier list).
        "ThrottlingException"
        | "Throttling"
        | "ThrottledException"
        | "RequestThrottledException"
        | "RequestThrottled"
        | "TooManyRequestsException"
        | "RequestLimitExceeded"
        | "LimitExceededException"
        | "SlowDown"
        | "PriorRequestNotComplete" => FailureKind::Throttled,
        "InternalException"
        | "InternalFailure"
        | "InternalError"
        | "InternalServerError"
        | "ServiceUnavailable"
        | "ServiceUnavailableException" => FailureKind::Unavailable,
        "RequestTimeout" | "RequestTimeoutException" => FailureKind::Timeout,
        "ResourceNotFoundException" => FailureKind::NotFound,
        "AccessDeniedException"
        | "AccessDenied"
        | "NotAuthorizedForSourceException"
        | "NotAuthorizedForDetailTypeException"
        | "UnrecognizedClientException"
        | "InvalidClientTokenId"
        | "InvalidSignatureException"
        | "IncompleteSignature"
        | "MissingAuthenticationToken"
        | "ExpiredTokenException" => FailureKind::AccessDenied,
        // The event's Detail is not valid JSON: the record, not the request, is at fault.
        "MalformedDetail" => FailureKind::InvalidPayload,
        "ValidationException"
        | "InvalidArgument"
        | "InvalidAccountIdException"
        | "RedactionFailure"
        | "SerializationException"
        | "InvalidParameterValue"
        | "InvalidParameterCombination"
        | "MissingParameter" => FailureKind::InvalidRequest,
        _ => return None,
    };
    Some(kind)
}

/// The kind of a whole-request failure from its error code (when known) or HTTP status.
pub fn kind_for_response(code: Option<&str>, status: u16) -> FailureKind {
    if let Some(kind) = code.and_then(kind_for_code) {
        return kind;
    }
    match status {
        429 => FailureKind::Throttled,
        408 => FailureKind::Timeout,
        401 | 403 => FailureKind::AccessDenied,
        404 => FailureKind::NotFound,
        413 => FailureKind::PayloadTooLarge,
        400..=499 => FailureKind::InvalidRequest,
        // 5xx, and anything else a well-behaved endpoint should not send.
        _ => FailureKind::Unavailable,
    }
}

/// The failure of one result entry that carries an `ErrorCode`. Codes we do not know are taken
/// to be about the entry itself (`invalid_request`), so the record is dead-lettered with the
/// code rather than retried blindly.
pub fn entry_failure(code: &str, message: Option<&str>) -> Failure {
    let kind = kind_for_code(code).unwrap_or(FailureKind::InvalidRequest);
    Failure::new(kind, code, message.unwrap_or_default())
}

/// The failure of a whole `PutEvents` request: the one place SDK errors become failures.
pub fn request_failure(err: &SdkError<PutEventsError>) -> Failure {
    match err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let status = ctx.raw().status().as_u16();
            let code = e.code();
            Failure::new(
                kind_for_response(code, status),
                code.map_or_else(|| format!("HTTP{status}"), str::to_owned),
                e.message().unwrap_or("(no message)"),
            )
        }
        SdkError::TimeoutError(_) => Failure::new(
            FailureKind::Timeout,
            "SdkTimeout",
            DisplayErrorContext(err).to_string(),
        ),
        SdkError::DispatchFailure(d) => {
            let (kind, code) = if d.is_timeout() {
                (FailureKind::Timeout, "DispatchTimeout")
            } else if d.is_user() {
                // The request could not be sent as built (e.g. a bad endpoint URL).
                (FailureKind::InvalidRequest, "DispatchFailure")
            } else {
                (FailureKind::Unavailable, "DispatchFailure")
            };
            Failure::new(kind, code, DisplayErrorContext(err).to_string())
        }
        // A response arrived but could not be read (truncated, not JSON, ...).
        SdkError::ResponseError(_) => Failure::new(
            FailureKind::Unavailable,
            "ResponseError",
            DisplayErrorContext(err).to_string(),
        ),
        // The request could not be built (a missing region or credentials, ...): no later
        // attempt can change that.
        SdkError::ConstructionFailure(_) => Failure::new(
            FailureKind::InvalidRequest,
            "ConstructionFailure",
            DisplayErrorContext(err).to_string(),
        ),
        _ => Failure::new(
            FailureKind::Unavailable,
            "SdkError",
            DisplayErrorContext(err).to_string(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every documented per-entry `ErrorCode` of PutEvents, with the kind it must map to and
    /// whether the record must therefore be retried.
    #[test]
    fn documented_entry_codes() {
        let table = [
            ("ThrottlingException", FailureKind::Throttled, true),
            ("InternalFailure", FailureKind::Unavailable, true),
            ("AccessDeniedException", FailureKind::AccessDenied, false),
            (
                "InvalidAccountIdException",
                FailureKind::InvalidRequest,
                false,
            ),
            ("InvalidArgument", FailureKind::InvalidRequest, false),
            ("MalformedDetail", FailureKind::InvalidPayload, false),
            ("RedactionFailure", FailureKind::InvalidRequest, false),
            (
                "NotAuthorizedForSourceException",
                FailureKind::AccessDenied,
                false,
            ),
            (
                "NotAuthorizedForDetailTypeException",
                FailureKind::AccessDenied,
                false,
            ),
            ("SomethingNew", FailureKind::InvalidRequest, false),
        ];
        for (code, kind, retryable) in table {
            let f = entry_failure(code, Some("msg"));
            assert_eq!(f.kind, kind, "{code}");
            assert_eq!(f.is_retryable(), retryable, "{code}");
            assert_eq!(f.code, code);
            assert_eq!(f.message, "msg");
        }
    }

    #[test]
    fn whole_request_errors_by_code_then_status() {
        let table = [
            (
                Some("ValidationException"),
                400,
                FailureKind::InvalidRequest,
            ),
            (
                Some("ResourceNotFoundException"),
                400,
                FailureKind::NotFound,
            ),
            (
                Some("AccessDeniedException"),
                400,
                FailureKind::AccessDenied,
            ),
            (
                Some("UnrecognizedClientException"),
                400,
                FailureKind::AccessDenied,
            ),
            (Some("ThrottlingException"), 400, FailureKind::Throttled),
            (Some("InternalException"), 500, FailureKind::Unavailable),
            (Some("Unknown"), 503, FailureKind::Unavailable),
            (Some("Unknown"), 429, FailureKind::Throttled),
            (None, 403, FailureKind::AccessDenied),
            (None, 404, FailureKind::NotFound),
            (None, 408, FailureKind::Timeout),
            (None, 413, FailureKind::PayloadTooLarge),
            (None, 400, FailureKind::InvalidRequest),
            (None, 502, FailureKind::Unavailable),
        ];
        for (code, status, kind) in table {
            assert_eq!(kind_for_response(code, status), kind, "{code:?} {status}");
        }
    }
}
