//! The tables: AWS error codes, HTTP statuses and EventBridge per-entry `ErrorCode`s →
//! [`FailureKind`], each row with the reason it belongs there.
//!
//! A kind's [`Cause`](fanout_engine::Cause) follows from the kind (`Failure::cause`): only
//! `function_error`, `timeout`, `payload_too_large`, `invalid_payload` and `internal_error`
//! are about the records and can dead-letter them. Everything below that says `throttled`,
//! `unavailable`, `not_found`, `access_denied` or `invalid_request` holds the target's lanes
//! until it recovers, and never dead-letters a record.

use fanout_engine::FailureKind::{self, *};

/// One row of a table: the codes (or statuses) it covers, their kind, and why.
#[derive(Debug, Clone, Copy)]
pub struct Rule<T: 'static> {
    /// The error codes (or HTTP status ranges) of the row.
    pub keys: &'static [T],
    /// The kind they map to.
    pub kind: FailureKind,
    /// Why: what the codes mean and whom they are about.
    pub why: &'static str,
}

/// Whole-request error codes (the `__type`/`code` of an error response, as the SDK parses it)
/// of Lambda's `Invoke`, EventBridge's `PutEvents` and the errors common to AWS APIs.
///
/// Lambda's `Invoke` and EventBridge's `PutEvents` codes are all here (a test checks it
/// against the SDKs' lists); a code that is not here is classified by its HTTP status
/// ([`STATUSES`]).
pub const REQUEST_CODES: &[Rule<&str>] = &[
    Rule {
        keys: &[
            "TooManyRequestsException",
            "ThrottlingException",
            "Throttling",
            "ThrottledException",
            "RequestThrottledException",
            "RequestThrottled",
            "RequestLimitExceeded",
            "LimitExceededException",
            "BandwidthLimitExceeded",
            "ProvisionedThroughputExceededException",
            "SlowDown",
            "PriorRequestNotComplete",
        ],
        kind: Throttled,
        why: "the service asks callers to slow down (the AWS SDKs' own list of throttling \
              codes, and Lambda's TooManyRequestsException): the target is saturated, the \
              records are fine",
    },
    Rule {
        keys: &["EC2ThrottledException", "ServiceQuotaExceededException"],
        kind: Throttled,
        why: "EC2 throttled Lambda while setting up the function's network, or an account \
              quota is used up: capacity, which frees up or is raised, not the records",
    },
    Rule {
        keys: &["ResourceNotFoundException", "NoPublishedVersionException"],
        kind: NotFound,
        why: "the function (or its alias/version) or the bus does not exist, or not yet: \
              every record would fail the same way until it is created",
    },
    Rule {
        keys: &[
            "AccessDeniedException",
            "AccessDenied",
            "NotAuthorized",
            "NotAuthorizedForSourceException",
            "NotAuthorizedForDetailTypeException",
            "OptInRequired",
        ],
        kind: AccessDenied,
        why: "IAM (or the account) does not allow this caller the call, the bus, or the \
              configured Source/DetailType: a policy to fix, not the records",
    },
    Rule {
        keys: &[
            "UnrecognizedClientException",
            "InvalidClientTokenId",
            "InvalidSignatureException",
            "IncompleteSignature",
            "SignatureDoesNotMatch",
            "MissingAuthenticationToken",
            "MissingAuthenticationTokenException",
            "ExpiredToken",
            "ExpiredTokenException",
            "RequestExpired",
        ],
        kind: AccessDenied,
        why: "the credentials are unknown, missing, malformed or expired, or the clock is \
              skewed (RequestExpired): no request passes until credentials or clock are \
              fixed or refreshed, whatever it carries",
    },
    Rule {
        keys: &["KMSAccessDeniedException", "EC2AccessDeniedException"],
        kind: AccessDenied,
        why: "the function's execution role may not decrypt its environment (KMS) or set up \
              its VPC (EC2): the function's permissions, not the records",
    },
    Rule {
        keys: &[
            "ServiceException",
            "ResourceNotReadyException",
            "ResourceConflictException",
            "EC2UnexpectedException",
            "ENILimitReachedException",
            "ENINotReadyException",
            "SnapStartException",
            "SnapStartNotReadyException",
            "SnapStartTimeoutException",
            "SnapStartRegenerationFailureException",
            "CodeArtifactUserPendingException",
            "CodeArtifactUserDeletedException",
            "CodeArtifactUserFailedException",
            "RecursiveInvocationException",
        ],
        kind: Unavailable,
        why: "a Lambda-side fault, or the function is not ready to run (being created or \
              updated, its VPC network interface, SnapStart snapshot or code artifact user \
              pending or failed, or stopped for a recursive loop): the function is \
              unavailable, whatever records it is given",
    },
    Rule {
        keys: &[
            "EFSIOException",
            "EFSMountConnectivityException",
            "EFSMountFailureException",
            "EFSMountTimeoutException",
            "S3FilesMountConnectivityException",
            "S3FilesMountFailureException",
            "S3FilesMountTimeoutException",
            "SubnetIPAddressLimitReachedException",
            "InvalidSubnetIDException",
            "InvalidSecurityGroupIDException",
            "InvalidRuntimeException",
            "InvalidZipFileException",
            "KMSDisabledException",
            "KMSInvalidStateException",
            "KMSNotFoundException",
        ],
        kind: Unavailable,
        why: "the function cannot start as deployed (its file system mount, subnets, security \
              groups, runtime, package or KMS key): its set-up is at fault and someone must \
              fix it; the records are fine",
    },
    Rule {
        keys: &[
            "InternalFailure",
            "InternalException",
            "InternalError",
            "InternalServerError",
            "InternalServerException",
            "ServiceUnavailable",
            "ServiceUnavailableException",
            "RequestTimeout",
            "RequestTimeoutException",
        ],
        kind: Unavailable,
        why: "the service failed or timed out on its side (AWS common errors; the SDKs retry \
              these as transient): the target is unavailable, not the records at fault",
    },
    Rule {
        keys: &[
            "RequestTooLargeException",
            "SerializedRequestEntityTooLargeException",
        ],
        kind: PayloadTooLarge,
        why: "the request's payload is over the service's limit: the records it carries are \
              too large (the engine splits a shared request to find the one that cannot fit)",
    },
    Rule {
        keys: &["InvalidRequestContentException"],
        kind: InvalidPayload,
        why: "Lambda cannot parse the payload as JSON: what fanout built from the records is \
              at fault, not the function",
    },
    Rule {
        keys: &[
            "ValidationException",
            "ValidationError",
            "InvalidParameterValueException",
            "InvalidParameterValue",
            "InvalidParameterCombination",
            "MissingParameter",
            "InvalidQueryParameter",
            "MalformedQueryString",
            "InvalidAction",
            "MissingAction",
            "SerializationException",
            "UnsupportedMediaTypeException",
            "ModeNotSupportedException",
            "DurableExecutionAlreadyStartedException",
        ],
        kind: InvalidRequest,
        why: "the service rejects the request as fanout builds it for this target (a wrong \
              qualifier, bus name or ARN, invocation type the function does not support): the \
              target's configuration is wrong, and every record would fail the same way",
    },
];

/// HTTP error statuses of responses without a known code; the first row that holds the status
/// decides.
pub const STATUSES: &[Rule<(u16, u16)>] = &[
    Rule {
        keys: &[(429, 429)],
        kind: Throttled,
        why: "429 Too Many Requests: slow down",
    },
    Rule {
        keys: &[(401, 401), (403, 403)],
        kind: AccessDenied,
        why: "401/403: not authenticated or not allowed; a policy or credentials to fix",
    },
    Rule {
        keys: &[(404, 404)],
        kind: NotFound,
        why: "404: no such function or bus (cargo-lambda answers an unknown function this way)",
    },
    Rule {
        keys: &[(413, 413)],
        kind: PayloadTooLarge,
        why: "413 Payload Too Large: the records carried are too large",
    },
    Rule {
        keys: &[(408, 408)],
        kind: Unavailable,
        why: "408 Request Timeout: the server gave up waiting for the request itself; the \
              connection, not the records",
    },
    Rule {
        keys: &[(400, 499)],
        kind: InvalidRequest,
        why: "any other 4xx: the endpoint rejects requests as built for this target, whatever \
              they carry",
    },
    Rule {
        keys: &[(500, 599)],
        kind: Unavailable,
        why: "5xx: the service (or a proxy in front of it) failed",
    },
    Rule {
        keys: &[(0, 399), (600, u16::MAX)],
        kind: Unavailable,
        why: "a status no AWS endpoint sends with an error: the endpoint is not behaving as the \
              service does",
    },
];

/// EventBridge per-entry `ErrorCode`s whose meaning differs from the same word as a
/// whole-request code, checked before [`REQUEST_CODES`]. A result entry's error is about that
/// entry alone (its siblings in the request passed), so codes about the entry's content are
/// record failures; codes about the target keep their target kinds (throttling, internal
/// failures, access: looked up in [`REQUEST_CODES`]).
pub const ENTRY_CODES: &[Rule<&str>] = &[
    Rule {
        keys: &[
            "InvalidArgument",
            "MalformedDetail",
            "RedactionFailure",
            "ValidationException",
        ],
        kind: InvalidPayload,
        why: "the entry built from this record is invalid (an empty or invalid DetailType, a \
              Detail that is not valid JSON, a Detail that cannot be redacted) while the other \
              entries of the request passed: the record is at fault",
    },
    Rule {
        keys: &["InvalidAccountIdException"],
        kind: InvalidRequest,
        why: "the account of the bus ARN is not valid: the bus comes from the target's \
              configuration, the same for every record",
    },
];

/// The kind of a per-entry code that is in no table, and of a per-entry code that
/// [`REQUEST_CODES`] calls `invalid_request` (a request-level word used about one entry).
pub const UNKNOWN_ENTRY_CODE: (FailureKind, &str) = (
    InvalidPayload,
    "EventBridge rejected this entry alone and its siblings passed: a record failure, \
     dead-lettered with the code, rather than a target failure that would hold the lane forever",
);

/// The last segment of a code, without a namespace (`aws.protocols#`) or a suffix after `:`
/// (some services append a URI), as AWS protocols allow.
fn bare(code: &str) -> &str {
    let code = code.rsplit('#').next().unwrap_or(code);
    code.split(':').next().unwrap_or(code).trim()
}

fn lookup(table: &[Rule<&'static str>], code: &str) -> Option<FailureKind> {
    let code = bare(code);
    table
        .iter()
        .find(|rule| rule.keys.contains(&code))
        .map(|rule| rule.kind)
}

/// The kind of a whole-request error code; `None` when the code is in no table (classify by
/// status then).
pub fn kind_of_code(code: &str) -> Option<FailureKind> {
    lookup(REQUEST_CODES, code)
}

/// The kind of an HTTP error status, for a response without a known code.
pub fn kind_of_status(status: u16) -> FailureKind {
    STATUSES
        .iter()
        .find(|rule| {
            rule.keys
                .iter()
                .any(|&(low, high)| (low..=high).contains(&status))
        })
        .map_or(Unavailable, |rule| rule.kind)
}

/// The kind of an EventBridge per-entry `ErrorCode` (see [`ENTRY_CODES`]).
pub fn kind_of_entry_code(code: &str) -> FailureKind {
    if let Some(kind) = lookup(ENTRY_CODES, code) {
        return kind;
    }
    match kind_of_code(code) {
        None | Some(InvalidRequest) => UNKNOWN_ENTRY_CODE.0,
        Some(kind) => kind,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use fanout_engine::{Cause, Failure};

    use super::*;

    fn cause(kind: FailureKind) -> Cause {
        Failure::new(kind, "", "").cause()
    }

    #[test]
    fn every_row_maps_every_code_it_lists_and_says_why() {
        for rule in REQUEST_CODES {
            assert!(rule.why.len() > 20, "{:?} needs a reason", rule.keys);
            for code in rule.keys {
                assert_eq!(kind_of_code(code), Some(rule.kind), "{code}");
            }
        }
        for rule in ENTRY_CODES {
            assert!(rule.why.len() > 20, "{:?} needs a reason", rule.keys);
            for code in rule.keys {
                assert_eq!(kind_of_entry_code(code), rule.kind, "{code}");
            }
        }
        for rule in STATUSES {
            assert!(rule.why.len() > 10, "{:?} needs a reason", rule.keys);
        }
    }

    #[test]
    fn no_code_is_in_two_rows() {
        for table in [REQUEST_CODES, ENTRY_CODES] {
            let mut seen = HashSet::new();
            for code in table.iter().flat_map(|r| r.keys) {
                assert!(seen.insert(*code), "{code} is listed twice");
            }
        }
    }

    /// code | kind, written from the rules of issue 14 rather than read off the table.
    const REQUEST_CASES: &str = "
        TooManyRequestsException               | throttled
        ThrottlingException                    | throttled
        Throttling                             | throttled
        RequestLimitExceeded                   | throttled
        EC2ThrottledException                  | throttled
        ServiceQuotaExceededException          | throttled
        ResourceNotFoundException              | not_found
        NoPublishedVersionException            | not_found
        AccessDeniedException                  | access_denied
        UnrecognizedClientException            | access_denied
        InvalidSignatureException              | access_denied
        InvalidClientTokenId                   | access_denied
        MissingAuthenticationToken             | access_denied
        MissingAuthenticationTokenException    | access_denied
        ExpiredToken                           | access_denied
        ExpiredTokenException                  | access_denied
        RequestExpired                         | access_denied
        NotAuthorizedForSourceException        | access_denied
        NotAuthorizedForDetailTypeException    | access_denied
        KMSAccessDeniedException               | access_denied
        EC2AccessDeniedException               | access_denied
        ServiceException                       | unavailable
        ResourceNotReadyException              | unavailable
        ResourceConflictException              | unavailable
        EC2UnexpectedException                 | unavailable
        ENILimitReachedException               | unavailable
        EFSIOException                         | unavailable
        EFSMountConnectivityException          | unavailable
        EFSMountFailureException               | unavailable
        EFSMountTimeoutException               | unavailable
        SnapStartException                     | unavailable
        SnapStartNotReadyException             | unavailable
        SnapStartTimeoutException              | unavailable
        InternalFailure                        | unavailable
        InternalException                      | unavailable
        ServiceUnavailable                     | unavailable
        RequestTooLargeException               | payload_too_large
        InvalidRequestContentException         | invalid_payload
        ValidationException                    | invalid_request
        InvalidParameterValueException         | invalid_request
        SerializationException                 | invalid_request
        com.amazonaws.lambda#ResourceNotFoundException | not_found
        ThrottlingException:http://internal.amazon.com/ | throttled
    ";

    #[test]
    fn request_codes_follow_the_rules() {
        for line in REQUEST_CASES
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            let (code, kind) = line.split_once('|').unwrap();
            let (code, kind) = (code.trim(), kind.trim());
            let got = kind_of_code(code).unwrap_or_else(|| panic!("{code} is in no row"));
            assert_eq!(got.as_str(), kind, "{code}");
        }
        assert_eq!(kind_of_code("SomeNewException"), None);
    }

    /// status | kind
    #[test]
    fn statuses_follow_the_rules() {
        let cases = [
            (429, Throttled),
            (401, AccessDenied),
            (403, AccessDenied),
            (404, NotFound),
            (413, PayloadTooLarge),
            (408, Unavailable),
            (400, InvalidRequest),
            (409, InvalidRequest),
            (415, InvalidRequest),
            (500, Unavailable),
            (502, Unavailable),
            (503, Unavailable),
            (504, Unavailable),
            (200, Unavailable),
            (302, Unavailable),
            (600, Unavailable),
        ];
        for (status, kind) in cases {
            assert_eq!(kind_of_status(status), kind, "{status}");
        }
    }

    /// Every documented per-entry `ErrorCode` of PutEvents, and codes it does not document.
    #[test]
    fn entry_codes_about_the_entry_are_record_failures() {
        let cases = [
            ("ThrottlingException", Throttled),
            ("InternalFailure", Unavailable),
            ("AccessDeniedException", AccessDenied),
            ("NotAuthorizedForSourceException", AccessDenied),
            ("NotAuthorizedForDetailTypeException", AccessDenied),
            ("InvalidAccountIdException", InvalidRequest),
            ("ResourceNotFoundException", NotFound),
            ("InvalidArgument", InvalidPayload),
            ("MalformedDetail", InvalidPayload),
            ("RedactionFailure", InvalidPayload),
            ("ValidationException", InvalidPayload),
            ("InvalidParameterValue", InvalidPayload),
            ("SomethingNew", InvalidPayload),
            ("", InvalidPayload),
        ];
        for (code, kind) in cases {
            assert_eq!(kind_of_entry_code(code), kind, "{code:?}");
        }
        assert_eq!(cause(kind_of_entry_code("MalformedDetail")), Cause::Record);
        assert_eq!(
            cause(kind_of_entry_code("ThrottlingException")),
            Cause::Target
        );
    }

    /// The classes a code's kind puts it in: which failures can dead-letter a record.
    #[test]
    fn only_record_kinds_are_about_the_record() {
        let record: Vec<&str> = REQUEST_CODES
            .iter()
            .filter(|r| cause(r.kind) == Cause::Record)
            .flat_map(|r| r.keys.iter().copied())
            .collect();
        assert_eq!(
            record,
            [
                "RequestTooLargeException",
                "SerializedRequestEntityTooLargeException",
                "InvalidRequestContentException",
            ]
        );
    }
}
