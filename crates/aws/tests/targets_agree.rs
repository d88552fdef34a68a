//! The Lambda and EventBridge targets classify every AWS error the same way, because both call
//! the shared tables; and every error code their operations can return is in the tables.

use aws_sdk_eventbridge::operation::put_events::PutEventsError;
use aws_sdk_lambda::operation::invoke::InvokeError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use fanout_aws::{REQUEST_CODES, kind_of_code, service_failure};
use fanout_engine::{Failure, FailureKind};

/// Every error code of Lambda's `Invoke` (aws-sdk-lambda 1.156, `InvokeError`).
const INVOKE_CODES: &[&str] = &[
    "CodeArtifactUserDeletedException",
    "CodeArtifactUserFailedException",
    "CodeArtifactUserPendingException",
    "DurableExecutionAlreadyStartedException",
    "EC2AccessDeniedException",
    "EC2ThrottledException",
    "EC2UnexpectedException",
    "EFSIOException",
    "EFSMountConnectivityException",
    "EFSMountFailureException",
    "EFSMountTimeoutException",
    "ENILimitReachedException",
    "ENINotReadyException",
    "InvalidParameterValueException",
    "InvalidRequestContentException",
    "InvalidRuntimeException",
    "InvalidSecurityGroupIDException",
    "InvalidSubnetIDException",
    "InvalidZipFileException",
    "KMSAccessDeniedException",
    "KMSDisabledException",
    "KMSInvalidStateException",
    "KMSNotFoundException",
    "ModeNotSupportedException",
    "NoPublishedVersionException",
    "RecursiveInvocationException",
    "RequestTooLargeException",
    "ResourceConflictException",
    "ResourceNotFoundException",
    "ResourceNotReadyException",
    "S3FilesMountConnectivityException",
    "S3FilesMountFailureException",
    "S3FilesMountTimeoutException",
    "SerializedRequestEntityTooLargeException",
    "ServiceException",
    "ServiceQuotaExceededException",
    "SnapStartException",
    "SnapStartNotReadyException",
    "SnapStartRegenerationFailureException",
    "SnapStartTimeoutException",
    "SubnetIPAddressLimitReachedException",
    "TooManyRequestsException",
    "UnsupportedMediaTypeException",
];

/// EventBridge's `PutEvents` error (aws-sdk-eventbridge 1.127, `PutEventsError`) and the
/// errors common to AWS APIs that its API reference lists.
const PUT_EVENTS_CODES: &[&str] = &[
    "InternalException",
    "AccessDeniedException",
    "IncompleteSignature",
    "InternalFailure",
    "InvalidAction",
    "InvalidClientTokenId",
    "InvalidParameterCombination",
    "InvalidParameterValue",
    "InvalidQueryParameter",
    "MalformedQueryString",
    "MissingAction",
    "MissingAuthenticationToken",
    "MissingParameter",
    "NotAuthorized",
    "OptInRequired",
    "RequestExpired",
    "ServiceUnavailable",
    "ThrottlingException",
    "ValidationError",
    "ValidationException",
    "UnrecognizedClientException",
    "ExpiredTokenException",
];

#[test]
fn every_operation_code_is_in_the_tables() {
    for code in INVOKE_CODES.iter().chain(PUT_EVENTS_CODES) {
        assert!(kind_of_code(code).is_some(), "{code} is in no row");
    }
}

fn raw(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_owned()),
    )
}

fn meta(code: Option<&str>) -> ErrorMetadata {
    let mut meta = ErrorMetadata::builder().message("m");
    if let Some(code) = code {
        meta = meta.code(code);
    }
    meta.build()
}

/// What each target crate makes of one error response.
fn both(status: u16, code: Option<&str>, body: &str) -> (Failure, Failure) {
    let lambda = SdkError::service_error(InvokeError::generic(meta(code)), raw(status, body));
    let eventbridge =
        SdkError::service_error(PutEventsError::generic(meta(code)), raw(status, body));
    (
        fanout_lambda::classify::invoke_failure(&lambda),
        fanout_eventbridge::classify::request_failure(&eventbridge),
    )
}

#[test]
fn both_targets_classify_every_code_and_status_alike() {
    let codes = REQUEST_CODES
        .iter()
        .flat_map(|rule| rule.keys.iter().map(|c| Some(*c)))
        .chain([None, Some("SomeNewException")]);
    let mut compared = 0;
    for code in codes {
        for status in [400, 403, 404, 408, 413, 429, 500, 502, 503] {
            let (lambda, eventbridge) = both(status, code, "{}");
            assert_eq!(lambda, eventbridge, "{code:?} HTTP {status}");
            assert_eq!(lambda, service_failure(status, code, Some("m"), b"{}"));
            compared += 1;
        }
    }
    assert!(compared > 100);
    // The one issue-14 example of the two crates disagreeing before.
    let (lambda, eventbridge) = both(400, Some("ExpiredTokenException"), "{}");
    assert_eq!(
        (lambda.kind, eventbridge.kind),
        (FailureKind::AccessDenied, FailureKind::AccessDenied)
    );
}

#[test]
fn both_targets_classify_sdk_errors_alike() {
    let make = || -> Vec<(SdkError<InvokeError, HttpResponse>, SdkError<PutEventsError, HttpResponse>)> {
        vec![
            (SdkError::timeout_error("t"), SdkError::timeout_error("t")),
            (
                SdkError::dispatch_failure(ConnectorError::io("refused".into())),
                SdkError::dispatch_failure(ConnectorError::io("refused".into())),
            ),
            (
                SdkError::dispatch_failure(ConnectorError::timeout("connect".into())),
                SdkError::dispatch_failure(ConnectorError::timeout("connect".into())),
            ),
            (
                SdkError::construction_failure("bad"),
                SdkError::construction_failure("bad"),
            ),
            (
                SdkError::response_error("cut", raw(200, "{")),
                SdkError::response_error("cut", raw(200, "{")),
            ),
        ]
    };
    for (lambda, eventbridge) in make() {
        let (l, e) = (
            fanout_lambda::classify::invoke_failure(&lambda),
            fanout_eventbridge::classify::request_failure(&eventbridge),
        );
        assert_eq!((l.kind, &l.code), (e.kind, &e.code), "{lambda:?}");
    }
}

/// The one Lambda-specific rule: a 5xx whose body is `{"errorType","errorMessage"}` is the
/// function's error (cargo-lambda), about the records; EventBridge has no such thing.
#[test]
fn only_function_errors_differ() {
    let body = r#"{"errorType":"PoisonError","errorMessage":"bad"}"#;
    let (lambda, eventbridge) = both(500, None, body);
    assert_eq!(
        (lambda.kind, lambda.code.as_str()),
        (FailureKind::FunctionError, "PoisonError")
    );
    assert_eq!(eventbridge.kind, FailureKind::Unavailable);
}
