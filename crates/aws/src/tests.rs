//! Unit tests of the SDK-error table: errors built by hand for every row, and the same rows as
//! a real SDK client reports them (against local sockets, no AWS).

use std::time::Duration;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_eventbridge::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::endpoint::error::ResolveEndpointError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;
use fanout_engine::{Cause, Failure, FailureKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::{MAX_MESSAGE, body_text, request_failure, service_failure};

fn response(status: u16, body: &str) -> HttpResponse {
    HttpResponse::new(
        StatusCode::try_from(status).unwrap(),
        SdkBody::from(body.to_owned()),
    )
}

fn service_error(
    status: u16,
    code: Option<&str>,
    body: &str,
) -> SdkError<ErrorMetadata, HttpResponse> {
    let mut meta = ErrorMetadata::builder().message("msg");
    if let Some(code) = code {
        meta = meta.code(code);
    }
    SdkError::service_error(meta.build(), response(status, body))
}

fn kind_code(f: &Failure) -> (FailureKind, &str) {
    (f.kind, f.code.as_str())
}

/// status | code the SDK parsed (`-`: none) | body | kind | code reported | why
const SERVICE_CASES: &str = r#"
    429 | TooManyRequestsException  | {}     | throttled         | TooManyRequestsException  | Lambda's throttle
    429 | -                         |        | throttled         | HTTP429                   | a bare 429
    400 | ThrottlingException       | {}     | throttled         | ThrottlingException       | the code wins over the status
    404 | ResourceNotFoundException | {}     | not_found         | ResourceNotFoundException | no such function or bus
    404 | -                         | {"title":"Missing function"} | not_found | HTTP404    | cargo-lambda's unknown function
    403 | UnrecognizedClientException | {}   | access_denied     | UnrecognizedClientException | bad credentials
    400 | ExpiredTokenException     | {}     | access_denied     | ExpiredTokenException     | expired credentials
    403 | -                         |        | access_denied     | HTTP403                   | a bare 403
    401 | -                         |        | access_denied     | HTTP401                   | a bare 401
    413 | RequestTooLargeException  | {}     | payload_too_large | RequestTooLargeException  | over the payload limit
    413 | -                         |        | payload_too_large | HTTP413                   | a bare 413
    400 | InvalidRequestContentException | {} | invalid_payload  | InvalidRequestContentException | payload not JSON
    400 | ValidationException       | {}     | invalid_request   | ValidationException       | 11 entries, bad bus name
    400 | SomeNewException          |        | invalid_request   | SomeNewException          | unknown code: by status
    400 | -                         |        | invalid_request   | HTTP400                   | a bare 4xx
    502 | ResourceNotReadyException | {}     | unavailable       | ResourceNotReadyException | function not active yet
    500 | InternalException         | {}     | unavailable       | InternalException         | EventBridge-side fault
    503 | -                         | <html> | unavailable       | HTTP503                   | a bare 5xx
    500 | SomeNewException          |        | unavailable       | SomeNewException          | unknown code: by status
"#;

#[test]
fn service_errors_by_code_then_status() {
    for line in SERVICE_CASES
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        let [status, code, body, kind, want_code, why] = cols[..] else {
            panic!("bad case line: {line}");
        };
        let code = (code != "-").then_some(code);
        let status: u16 = status.parse().unwrap();
        let f = request_failure(&service_error(status, code, body));
        assert_eq!(
            (f.kind.as_str(), f.code.as_str()),
            (kind, want_code),
            "{why}"
        );
        assert_eq!(f.message, "msg", "{why}");
        let direct = service_failure(status, code, Some("msg"), body.as_bytes());
        assert_eq!(direct, f, "{why}");
    }
    let missing = service_failure(404, None, None, br#"{"title":"Missing function"}"#);
    assert_eq!(missing.message, r#"HTTP 404: {"title":"Missing function"}"#);
    let empty_code = service_failure(503, Some(""), None, b"");
    assert_eq!(
        kind_code(&empty_code),
        (FailureKind::Unavailable, "HTTP503")
    );
}

/// Every SDK error variant that is not an error response, built as the SDK builds it.
#[test]
fn sdk_errors_by_variant() {
    type E = SdkError<ErrorMetadata, HttpResponse>;
    let boxed = |s: &str| -> Box<dyn std::error::Error + Send + Sync> { s.into() };
    let cases: Vec<(E, FailureKind, &str)> = vec![
        (
            E::timeout_error(boxed("operation timed out")),
            FailureKind::Timeout,
            "OperationTimeout",
        ),
        (
            E::dispatch_failure(ConnectorError::timeout(boxed("connect"))),
            FailureKind::Unavailable,
            "ConnectTimeout",
        ),
        (
            E::dispatch_failure(ConnectorError::io(boxed("connection refused"))),
            FailureKind::Unavailable,
            "DispatchFailure",
        ),
        (
            E::dispatch_failure(ConnectorError::user(boxed("invalid URI"))),
            FailureKind::InvalidRequest,
            "InvalidEndpoint",
        ),
        (
            E::dispatch_failure(ConnectorError::other(
                Box::new(CredentialsError::not_loaded("no profile")),
                None,
            )),
            FailureKind::AccessDenied,
            "CredentialsError",
        ),
        (
            E::dispatch_failure(ConnectorError::other(
                Box::new(ResolveEndpointError::message("no region")),
                None,
            )),
            FailureKind::InvalidRequest,
            "EndpointResolution",
        ),
        (
            E::dispatch_failure(ConnectorError::other(boxed("hyper says no"), None)),
            FailureKind::Unavailable,
            "DispatchFailure",
        ),
        (
            E::construction_failure(CredentialsError::provider_error("sts down")),
            FailureKind::AccessDenied,
            "CredentialsError",
        ),
        (
            E::construction_failure(boxed("cannot serialize")),
            FailureKind::InvalidRequest,
            "ConstructionFailure",
        ),
        (
            E::response_error(boxed("truncated"), response(200, "{")),
            FailureKind::Unavailable,
            "ResponseError",
        ),
    ];
    for (err, kind, code) in cases {
        let f = request_failure(&err);
        assert_eq!(kind_code(&f), (kind, code), "{err:?}");
        assert!(!f.message.is_empty());
    }
}

/// Only a timeout of a sent request is about the records; nothing else the SDK reports
/// without an error response can dead-letter a record.
#[test]
fn sdk_errors_are_target_failures_except_timeouts() {
    let timeout = request_failure(&SdkError::<ErrorMetadata, HttpResponse>::timeout_error("t"));
    assert_eq!(timeout.cause(), Cause::Record);
    let refused = request_failure(&SdkError::<ErrorMetadata, HttpResponse>::dispatch_failure(
        ConnectorError::io("refused".into()),
    ));
    assert_eq!(refused.cause(), Cause::Target);
}

#[test]
fn long_bodies_are_cut() {
    assert_eq!(body_text(&[b'a'; 5000]).chars().count(), MAX_MESSAGE + 1);
    let odd = format!("a{}", "é".repeat(1000));
    assert_eq!(
        body_text(odd.as_bytes()).len(),
        1023 + "…".len(),
        "cut at a char boundary"
    );
    assert_eq!(body_text(b"short"), "short");
}

/// A client with explicit settings and no retries; `None` leaves a setting out.
fn client(
    endpoint: Option<&str>,
    region: Option<&str>,
    credentials: Option<Credentials>,
    timeout: Duration,
) -> aws_sdk_eventbridge::Client {
    let mut config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .timeout_config(
            aws_smithy_types::timeout::TimeoutConfig::builder()
                .connect_timeout(timeout)
                .operation_timeout(timeout)
                .build(),
        );
    if let Some(url) = endpoint {
        config = config.endpoint_url(url);
    }
    if let Some(region) = region {
        config = config.region(Region::new(region.to_owned()));
    }
    if let Some(credentials) = credentials {
        config = config.credentials_provider(credentials);
    }
    aws_sdk_eventbridge::Client::from_conf(config.build())
}

fn test_credentials() -> Option<Credentials> {
    Some(Credentials::new("test", "test", None, None, "test"))
}

async fn put(client: &aws_sdk_eventbridge::Client) -> Failure {
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source("s")
        .detail_type("t")
        .detail("{}")
        .build();
    let err = client
        .put_events()
        .entries(entry)
        .send()
        .await
        .expect_err("the call fails");
    request_failure(&err)
}

/// An HTTP/1.1 response with a JSON-1.1 body.
fn answer(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A local server answering every request with `answer` and closing (`None`: never answering).
async fn serve(answer: Option<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // Read the head and a body of content-length bytes, then answer.
                loop {
                    let n = conn.read(&mut buf).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap_or(0));
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                match &answer {
                    Some(answer) => {
                        let _ = conn.write_all(answer.as_bytes()).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            });
        }
    });
    url
}

/// The SDK-error rows as a real client reports them.
#[tokio::test]
async fn a_real_client_classifies_the_same() {
    let short = Duration::from_millis(300);

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let f = put(&client(
        Some(&url),
        Some("us-east-1"),
        test_credentials(),
        short,
    ))
    .await;
    assert_eq!(
        kind_code(&f),
        (FailureKind::Unavailable, "DispatchFailure"),
        "{f}"
    );

    let silent = serve(None).await;
    let f = put(&client(
        Some(&silent),
        Some("us-east-1"),
        test_credentials(),
        short,
    ))
    .await;
    assert_eq!(
        kind_code(&f),
        (FailureKind::Timeout, "OperationTimeout"),
        "{f}"
    );

    let unreadable = serve(Some(answer("200 OK", "not{son"))).await;
    let f = put(&client(
        Some(&unreadable),
        Some("us-east-1"),
        test_credentials(),
        short,
    ))
    .await;
    // The SDK reports a success it cannot parse as an error response without a code.
    assert_eq!(kind_code(&f), (FailureKind::Unavailable, "HTTP200"), "{f}");

    let truncated = serve(Some(
        "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 50\r\n\r\n{".to_owned(),
    ))
    .await;
    let f = put(&client(
        Some(&truncated),
        Some("us-east-1"),
        test_credentials(),
        short,
    ))
    .await;
    assert_eq!(
        kind_code(&f),
        (FailureKind::Unavailable, "ResponseError"),
        "{f}"
    );

    let denied = serve(Some(answer(
        "400 Bad Request",
        r#"{"__type":"UnrecognizedClientException","message":"The security token is bad."}"#,
    )))
    .await;
    let f = put(&client(
        Some(&denied),
        Some("us-east-1"),
        test_credentials(),
        short,
    ))
    .await;
    assert_eq!(
        kind_code(&f),
        (FailureKind::AccessDenied, "UnrecognizedClientException"),
        "{f}"
    );
    assert_eq!(f.message, "The security token is bad.");

    let gateway = serve(Some(answer("502 Bad Gateway", "<html>"))).await;
    let f = put(&client(
        Some(&gateway),
        Some("us-east-1"),
        test_credentials(),
        short,
    ))
    .await;
    assert_eq!(kind_code(&f), (FailureKind::Unavailable, "HTTP502"), "{f}");

    // Nothing below reaches the server.
    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&url)
        .region(Region::new("us-east-1"))
        .credentials_provider(NoCredentials)
        .build();
    let f = put(&aws_sdk_eventbridge::Client::from_conf(config)).await;
    assert_eq!(
        kind_code(&f),
        (FailureKind::AccessDenied, "CredentialsError"),
        "{f}"
    );

    for bad in ["http://exa mple.com", "127.0.0.1:1"] {
        let f = put(&client(
            Some(bad),
            Some("us-east-1"),
            test_credentials(),
            short,
        ))
        .await;
        assert_eq!(
            kind_code(&f),
            (FailureKind::InvalidRequest, "EndpointResolution"),
            "{f}"
        );
        assert!(
            f.message.len() <= MAX_MESSAGE + "…".len(),
            "messages are cut"
        );
    }

    let no_region = client(None, None, test_credentials(), short);
    let f = put(&no_region).await;
    assert_eq!(f.cause(), Cause::Target, "{f}");
    assert_eq!(
        kind_code(&f),
        (FailureKind::InvalidRequest, "EndpointResolution"),
        "{f}"
    );
}

/// A credentials provider that finds none, as the default chain does on a machine without any.
#[derive(Debug)]
struct NoCredentials;

impl aws_credential_types::provider::ProvideCredentials for NoCredentials {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::ready(Err(
            CredentialsError::not_loaded("no credentials in the environment"),
        ))
    }
}
