//! Mapping what the SDK reports to a [`FailureKind`]. Whether a kind is retried is decided by
//! [`Failure::is_retryable`], never here.

use std::error::Error;

use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;
use fanout_engine::{Failure, FailureKind};

use crate::response::{body_text, function_error, is_function_error_body};

/// The kind of a Lambda service error code (`None`: not one this crate knows).
fn kind_of_code(code: &str) -> Option<FailureKind> {
    Some(match code {
        "TooManyRequestsException"
        | "ThrottlingException"
        | "Throttling"
        | "ThrottledException"
        | "RequestLimitExceeded"
        | "EC2ThrottledException" => FailureKind::Throttled,
        "ResourceNotFoundException" | "NoPublishedVersionException" => FailureKind::NotFound,
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "MissingAuthenticationTokenException"
        | "KMSAccessDeniedException"
        | "EC2AccessDeniedException" => FailureKind::AccessDenied,
        "RequestTooLargeException" => FailureKind::PayloadTooLarge,
        "InvalidParameterValueException"
        | "InvalidRequestContentException"
        | "UnsupportedMediaTypeException"
        | "ValidationException"
        | "SerializationException"
        | "InvalidRuntimeException"
        | "InvalidZipFileException"
        | "RecursiveInvocationException"
        | "ModeNotSupportedException" => FailureKind::InvalidRequest,
        // Function being created or updated, Lambda-side faults, expired credentials that the
        // provider refreshes, VPC/EFS/KMS/SnapStart set-up faults: worth another attempt.
        "ServiceException"
        | "ResourceNotReadyException"
        | "ResourceConflictException"
        | "ExpiredTokenException"
        | "RequestExpired"
        | "EC2UnexpectedException"
        | "ENILimitReachedException"
        | "EFSIOException"
        | "EFSMountConnectivityException"
        | "EFSMountFailureException"
        | "EFSMountTimeoutException"
        | "SnapStartException"
        | "SnapStartNotReadyException"
        | "SnapStartTimeoutException" => FailureKind::Unavailable,
        _ => return None,
    })
}

/// The kind of an HTTP error status without a known error code.
fn kind_of_status(status: u16) -> FailureKind {
    match status {
        429 => FailureKind::Throttled,
        408 => FailureKind::Timeout,
        413 => FailureKind::PayloadTooLarge,
        401 | 403 => FailureKind::AccessDenied,
        404 => FailureKind::NotFound,
        400..=499 => FailureKind::InvalidRequest,
        _ => FailureKind::Unavailable,
    }
}

/// A service error response: HTTP `status`, the error `code` the SDK parsed (if any), its
/// `message`, and the raw `body`.
///
/// An HTTP 5xx whose body is `{"errorType", "errorMessage"}` is a function error: that is how
/// cargo-lambda's emulator reports one (real Lambda answers 200 with `X-Amz-Function-Error`).
pub fn service_error(
    status: u16,
    code: Option<&str>,
    message: Option<&str>,
    body: &[u8],
) -> Failure {
    if let Some(kind) = code.and_then(kind_of_code) {
        let message = message.map_or_else(|| body_text(body), str::to_owned);
        return Failure::new(kind, code.unwrap_or_default(), message);
    }
    if status >= 500 && is_function_error_body(body) {
        return function_error(None, body);
    }
    let kind = kind_of_status(status);
    let code = code.map_or_else(|| format!("HTTP{status}"), str::to_owned);
    let message = match message {
        Some(m) => m.to_owned(),
        None => format!("HTTP {status}: {}", body_text(body)),
    };
    Failure::new(kind, code, message)
}

/// Any error of an `Invoke` call.
pub fn sdk_error<E>(err: &SdkError<E, aws_sdk_lambda::config::http::HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + Error + 'static,
{
    let text = || DisplayErrorContext(err).to_string();
    match err {
        SdkError::ServiceError(ctx) => {
            let raw = ctx.raw();
            service_error(
                raw.status().as_u16(),
                ctx.err().code(),
                ctx.err().message(),
                raw.body().bytes().unwrap_or_default(),
            )
        }
        SdkError::TimeoutError(_) => Failure::new(FailureKind::Timeout, "OperationTimeout", text()),
        SdkError::DispatchFailure(d) if d.is_timeout() => {
            Failure::new(FailureKind::Timeout, "ConnectTimeout", text())
        }
        SdkError::DispatchFailure(_) => {
            Failure::new(FailureKind::Unavailable, "DispatchFailure", text())
        }
        // Mostly credentials or endpoint resolution failing, which may well pass next time.
        SdkError::ConstructionFailure(_) => {
            Failure::new(FailureKind::Unavailable, "ConstructionFailure", text())
        }
        SdkError::ResponseError(_) => {
            Failure::new(FailureKind::Unavailable, "ResponseError", text())
        }
        _ => Failure::new(FailureKind::Unavailable, "SdkError", text()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// status | code the SDK parsed (`-`: none) | body | kind | code reported | why
    const CASES: &str = r#"
        429 | TooManyRequestsException       | {}   | throttled         | TooManyRequestsException       | Lambda's throttle
        429 | -                              |      | throttled         | HTTP429                        | a bare 429 is a throttle
        502 | EC2ThrottledException          | {}   | throttled         | EC2ThrottledException          | VPC throttle
        404 | ResourceNotFoundException      | {}   | not_found         | ResourceNotFoundException      | no such function
        404 | -                              | {"title":"Missing function"} | not_found | HTTP404    | cargo-lambda's unknown function
        403 | AccessDeniedException          | {}   | access_denied     | AccessDeniedException          | IAM denies lambda:InvokeFunction
        403 | UnrecognizedClientException    | {}   | access_denied     | UnrecognizedClientException    | bad credentials
        403 | -                              |      | access_denied     | HTTP403                        | a bare 403
        400 | InvalidParameterValueException | {}   | invalid_request   | InvalidParameterValueException | bad parameter
        400 | InvalidRequestContentException | {}   | invalid_request   | InvalidRequestContentException | payload is not JSON
        413 | RequestTooLargeException       | {}   | payload_too_large | RequestTooLargeException       | over the payload limit
        413 | -                              |      | payload_too_large | HTTP413                        | a bare 413
        409 | ResourceConflictException      | {}   | unavailable       | ResourceConflictException      | function being updated
        502 | ResourceNotReadyException      | {}   | unavailable       | ResourceNotReadyException      | function not active yet
        500 | ServiceException               | {}   | unavailable       | ServiceException               | Lambda-side fault
        400 | ExpiredTokenException          | {}   | unavailable       | ExpiredTokenException          | credentials being refreshed
        503 | -                              | <html> | unavailable     | HTTP503                        | a bare 5xx
        400 | -                              |      | invalid_request   | HTTP400                        | a bare 4xx
        400 | SomeNewException               |      | invalid_request   | SomeNewException               | unknown code: by status
        500 | -                              | {"errorType":"PoisonError","errorMessage":"bad"} | function_error | PoisonError | cargo-lambda's function error
    "#;

    #[test]
    fn service_errors_map_to_kinds() {
        for line in CASES.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let cols: Vec<&str> = line.split('|').map(str::trim).collect();
            let [status, code, body, kind, want_code, why] = cols[..] else {
                panic!("bad case line: {line}");
            };
            let code = (code != "-").then_some(code);
            let f = service_error(status.parse().unwrap(), code, Some("msg"), body.as_bytes());
            assert_eq!(
                (f.kind.as_str(), f.code.as_str()),
                (kind, want_code),
                "{why}"
            );
        }
        let function_error = br#"{"errorType":"PoisonError","errorMessage":"bad"}"#;
        assert_eq!(
            service_error(500, None, None, function_error).message,
            "bad"
        );
        let missing = service_error(404, None, None, br#"{"title":"Missing function"}"#);
        assert_eq!(missing.message, r#"HTTP 404: {"title":"Missing function"}"#);
    }
}
