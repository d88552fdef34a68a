//! How EventBridge failures become [`Failure`]s: by the shared [`fanout_aws`] tables, as for
//! every AWS target. Nothing in classifying `PutEvents` errors is specific to this crate; the
//! two functions here are the names the target calls.

use aws_sdk_eventbridge::error::SdkError;
use aws_sdk_eventbridge::operation::put_events::PutEventsError;
use fanout_engine::Failure;

/// The failure of a whole `PutEvents` request ([`fanout_aws::request_failure`]).
pub fn request_failure(err: &SdkError<PutEventsError>) -> Failure {
    fanout_aws::request_failure(err)
}

/// The failure of one result entry that carries an `ErrorCode`
/// ([`fanout_aws::entry_failure`]): `invalid_payload` for codes about the entry
/// (`InvalidArgument`, `MalformedDetail`, unknown codes), the target kinds for throttling,
/// internal failures and access.
pub fn entry_failure(code: &str, message: Option<&str>) -> Failure {
    fanout_aws::entry_failure(code, message)
}
