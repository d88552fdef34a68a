//! Reading what Lambda answered: partial-batch responses and function errors.

use std::collections::HashMap;

use fanout_aws::body_text;
use fanout_engine::{Failure, FailureKind};
use serde_json::Value;

/// What a successful ESM invocation's response says about its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchResponse {
    /// Every record was processed: no (or an empty) `batchItemFailures`.
    Delivered,
    /// Partition key → first failed offset: that record and every later record of that
    /// partition failed.
    Failed(HashMap<String, i64>),
    /// `batchItemFailures` is present but names something that is not a record of the
    /// invocation, or is malformed: the whole invocation counts as failed.
    Invalid(String),
}

/// Reads a partial-batch response
/// `{"batchItemFailures":[{"itemIdentifier":{"partition":"<topic>-<n>","offset":<o>}}]}`.
///
/// `sent` lists the (partition key, offset) of every record of the invocation. A response
/// that is not a JSON object with a non-empty `batchItemFailures` array (e.g. `null`, `{}`,
/// `"ok"`, or no body) means every record was processed, as for a function that does not use
/// partial-batch responses. `offset` may be a number or a numeric string.
pub fn batch_item_failures(payload: &[u8], sent: &[(String, i64)]) -> BatchResponse {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(payload) else {
        return BatchResponse::Delivered;
    };
    let items = match body.get("batchItemFailures") {
        None | Some(Value::Null) => return BatchResponse::Delivered,
        Some(Value::Array(items)) if items.is_empty() => return BatchResponse::Delivered,
        Some(Value::Array(items)) => items,
        Some(other) => {
            return BatchResponse::Invalid(format!("`batchItemFailures` is not an array: {other}"));
        }
    };
    let mut failed: HashMap<String, i64> = HashMap::new();
    for item in items {
        let id = &item["itemIdentifier"];
        let partition = id["partition"].as_str();
        let offset = match &id["offset"] {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        let (Some(partition), Some(offset)) = (partition, offset) else {
            return BatchResponse::Invalid(format!(
                "batch item failure {item} has no `itemIdentifier` with a `partition` string and an `offset`"
            ));
        };
        if !sent.iter().any(|(p, o)| p == partition && *o == offset) {
            return BatchResponse::Invalid(format!(
                "batch item failure names {partition} offset {offset}, which was not in the invocation"
            ));
        }
        let first = failed.entry(partition.to_owned()).or_insert(offset);
        *first = (*first).min(offset);
    }
    BatchResponse::Failed(failed)
}

/// The failure of the record a partial-batch response names (the first of its partition).
pub fn batch_item_failure(partition: &str, offset: i64) -> Failure {
    Failure::new(
        FailureKind::FunctionError,
        "BatchItemFailure",
        format!("the function reported a batch item failure for {partition} offset {offset}"),
    )
}

/// A function error: `errorType` and `errorMessage` from the response body
/// (`{"errorType":..,"errorMessage":..}`), else the `X-Amz-Function-Error` value and the body.
pub fn function_error(header: Option<&str>, body: &[u8]) -> Failure {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let code = field("errorType")
        .or_else(|| header.map(str::to_owned))
        .unwrap_or_else(|| "Unhandled".to_owned());
    let message = field("errorMessage").unwrap_or_else(|| body_text(body));
    Failure::new(FailureKind::FunctionError, code, message)
}

/// Is this body a function error as cargo-lambda's emulator sends it (HTTP 500 with
/// `errorType`)?
pub fn is_function_error_body(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.get("errorType").map(Value::is_string))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent() -> Vec<(String, i64)> {
        vec![
            ("t-0".into(), 5),
            ("t-0".into(), 6),
            ("t-0".into(), 7),
            ("t-1".into(), 3),
        ]
    }

    #[test]
    fn success_shapes() {
        for body in [
            "",
            "null",
            "{}",
            "\"ok\"",
            "[1]",
            "{\"batchItemFailures\":[]}",
            "{\"batchItemFailures\":null}",
            "not json",
        ] {
            assert_eq!(
                batch_item_failures(body.as_bytes(), &sent()),
                BatchResponse::Delivered,
                "{body}"
            );
        }
    }

    #[test]
    fn failures_keep_the_lowest_offset_per_partition() {
        let body = br#"{"batchItemFailures":[
            {"itemIdentifier":{"partition":"t-0","offset":7}},
            {"itemIdentifier":{"partition":"t-0","offset":"6"}},
            {"itemIdentifier":{"partition":"t-1","offset":3}}]}"#;
        let BatchResponse::Failed(failed) = batch_item_failures(body, &sent()) else {
            panic!("expected failures");
        };
        assert_eq!(failed.len(), 2);
        assert_eq!(failed["t-0"], 6);
        assert_eq!(failed["t-1"], 3);
    }

    #[test]
    fn malformed_or_unknown_identifiers_fail_the_invocation() {
        for body in [
            r#"{"batchItemFailures":{"partition":"t-0"}}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":{"partition":"t-0"}}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":""}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":{"partition":"t-2","offset":5}}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":{"partition":"t-0","offset":99}}]}"#,
        ] {
            assert!(
                matches!(
                    batch_item_failures(body.as_bytes(), &sent()),
                    BatchResponse::Invalid(_)
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn function_errors_carry_type_and_message() {
        let f = function_error(
            Some("Unhandled"),
            br#"{"errorType":"PoisonError","errorMessage":"bad record","trace":[]}"#,
        );
        assert_eq!(
            f,
            Failure::new(FailureKind::FunctionError, "PoisonError", "bad record")
        );
        let f = function_error(Some("Unhandled"), b"Task timed out");
        assert_eq!(f.code, "Unhandled");
        assert_eq!(f.message, "Task timed out");
        assert!(is_function_error_body(
            br#"{"errorType":"X","errorMessage":"m"}"#
        ));
        assert!(!is_function_error_body(br#"{"message":"Internal"}"#));
        let long = function_error(Some("Unhandled"), &[b'a'; 5000]);
        assert_eq!(long.message.chars().count(), fanout_aws::MAX_MESSAGE + 1);
    }
}
