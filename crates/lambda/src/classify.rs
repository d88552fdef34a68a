//! What is specific to Lambda in classifying a failed `Invoke`: function errors. Every other
//! error is classified by the shared [`fanout_aws`] tables, as for every AWS target.

use std::error::Error;

use aws_sdk_lambda::config::http::HttpResponse;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use fanout_engine::Failure;

use crate::response::{function_error, is_function_error_body};

/// The failure of one `Invoke` call that returned an error.
///
/// An HTTP 5xx without a code the shared tables know, whose body is
/// `{"errorType", "errorMessage"}`, is a function error (`function_error`, about the records):
/// that is how cargo-lambda's emulator reports one (real Lambda answers 200 with
/// `X-Amz-Function-Error`, read from the successful output instead). Anything else is
/// [`fanout_aws::request_failure`].
pub fn invoke_failure<E>(err: &SdkError<E, HttpResponse>) -> Failure
where
    E: ProvideErrorMetadata + Error + 'static,
{
    if let SdkError::ServiceError(ctx) = err {
        let raw = ctx.raw();
        let body = raw.body().bytes().unwrap_or_default();
        let known = ctx
            .err()
            .code()
            .and_then(fanout_aws::kind_of_code)
            .is_some();
        if raw.status().is_server_error() && !known && is_function_error_body(body) {
            return function_error(None, body);
        }
    }
    fanout_aws::request_failure(err)
}

#[cfg(test)]
mod tests {
    use aws_sdk_lambda::operation::invoke::InvokeError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;
    use fanout_engine::{Cause, FailureKind};

    use super::*;

    fn invoke_error(status: u16, code: Option<&str>, body: &str) -> SdkError<InvokeError> {
        let mut meta = ErrorMetadata::builder();
        if let Some(code) = code {
            meta = meta.code(code);
        }
        let raw = HttpResponse::new(
            StatusCode::try_from(status).unwrap(),
            SdkBody::from(body.to_owned()),
        );
        SdkError::service_error(InvokeError::generic(meta.build()), raw)
    }

    /// status | code (`-`: none) | body | kind | code reported | why
    const CASES: &str = r#"
        500 | - | {"errorType":"PoisonError","errorMessage":"bad"} | function_error | PoisonError | cargo-lambda's function error
        502 | - | {"errorType":"PoisonError","errorMessage":"bad"} | function_error | PoisonError | any 5xx with that body
        500 | ServiceException | {"errorType":"X","errorMessage":"m"} | unavailable | ServiceException | a known code wins
        400 | - | {"errorType":"X","errorMessage":"m"} | invalid_request | HTTP400 | only 5xx carry function errors
        500 | - | {"message":"Internal"} | unavailable | HTTP500 | no errorType: a 5xx
        404 | - | {"title":"Missing function"} | not_found | HTTP404 | cargo-lambda's unknown function
        403 | ExpiredTokenException | {} | access_denied | ExpiredTokenException | the shared table
    "#;

    #[test]
    fn function_errors_then_the_shared_tables() {
        for line in CASES.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let cols: Vec<&str> = line.split(" | ").map(str::trim).collect();
            let [status, code, body, kind, want_code, why] = cols[..] else {
                panic!("bad case line: {line}");
            };
            let code = (code != "-").then_some(code);
            let f = invoke_failure(&invoke_error(status.parse().unwrap(), code, body));
            assert_eq!(
                (f.kind.as_str(), f.code.as_str()),
                (kind, want_code),
                "{why}"
            );
        }
        let f = invoke_failure(&invoke_error(
            500,
            None,
            r#"{"errorType":"PoisonError","errorMessage":"bad"}"#,
        ));
        assert_eq!(f.message, "bad");
        assert_eq!(f.kind, FailureKind::FunctionError);
        assert_eq!(f.cause(), Cause::Record);
    }
}
