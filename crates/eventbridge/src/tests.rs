//! Unit tests: entry mapping, entry sizes, request splitting under tight limits, and how
//! results become per-record outcomes.

use std::sync::Arc;

use aws_sdk_eventbridge::types::PutEventsResultEntry;
use fanout_engine::{
    Cause, Delivery, DeliveryRecord, Failure, FailureKind, Outcome, TimestampType,
};
use fanout_router::{Detail, DetailType};
use proptest::prelude::*;
use serde_json::{Value, json};
use serde_json_path::JsonPath;

use crate::entry::{Entry, EntrySpec, MAX_ENTRIES, entry_size, split};
use crate::target::{deliver_entries, entry_outcomes};

fn record(offset: i64, value: Option<&[u8]>, timestamp: Option<i64>) -> Arc<DeliveryRecord> {
    let headers = vec![("trace".to_owned(), Some(b"t1".to_vec()))];
    Arc::new(DeliveryRecord {
        topic: "orders".into(),
        partition: 1,
        offset,
        timestamp,
        timestamp_type: TimestampType::CreateTime,
        key: Some(b"k1".to_vec()),
        value: value.map(<[u8]>::to_vec),
        headers,
        header_name_bytes: Vec::new(),
    })
}

fn spec(detail_type: DetailType, detail: Detail) -> EntrySpec {
    EntrySpec {
        bus: "orders-bus".into(),
        source: "fanout.test".into(),
        detail_type,
        detail,
        resources: vec!["arn:aws:s3:::bucket".into()],
    }
}

fn path(text: &str) -> DetailType {
    DetailType::Path {
        text: text.into(),
        query: JsonPath::parse(text).unwrap(),
    }
}

#[test]
fn entry_maps_every_field() {
    let value = br#"{"kind": "created", "n": 123456789012345678901234567890}"#;
    let r = record(7, Some(value), Some(1_700_000_000_123));
    let e = spec(DetailType::Constant("Order".into()), Detail::Value)
        .entry(3, &r)
        .unwrap();
    assert_eq!(e.index, 3);
    assert_eq!(e.entry.event_bus_name(), Some("orders-bus"));
    assert_eq!(e.entry.source(), Some("fanout.test"));
    assert_eq!(e.entry.detail_type(), Some("Order"));
    // The value's own text: a number beyond f64 precision is not re-encoded.
    assert_eq!(e.entry.detail(), Some(std::str::from_utf8(value).unwrap()));
    assert_eq!(
        e.entry.time().unwrap().to_millis().unwrap(),
        1_700_000_000_123
    );
    assert_eq!(e.entry.resources(), ["arn:aws:s3:::bucket"]);
    assert_eq!(
        e.size,
        14 + "fanout.test".len() + "Order".len() + value.len() + "arn:aws:s3:::bucket".len()
    );
}

#[test]
fn envelope_detail_and_path_detail_type() {
    let r = record(9, Some(br#"{"kind": "shipped"}"#), None);
    let e = spec(path("$.value.kind"), Detail::Envelope)
        .entry(0, &r)
        .unwrap();
    assert_eq!(e.entry.detail_type(), Some("shipped"));
    assert!(e.entry.time().is_none(), "no timestamp, no Time");
    let detail: Value = serde_json::from_str(e.entry.detail().unwrap()).unwrap();
    assert_eq!(
        detail,
        json!({"topic": "orders", "partition": 1, "offset": 9, "key": "k1",
               "headers": {"trace": "t1"}, "value": {"kind": "shipped"}})
    );
    assert_eq!(
        e.size,
        entry_size(
            false,
            "fanout.test",
            "shipped",
            e.entry.detail().unwrap(),
            &["arn:aws:s3:::bucket".into()]
        )
    );
}

#[test]
fn records_that_cannot_become_events_are_invalid_payload() {
    let cases: [(&[u8], DetailType, &str); 5] = [
        (
            b"[1, 2]",
            DetailType::Constant("T".into()),
            "DetailNotObject",
        ),
        (
            b"\"text\"",
            DetailType::Constant("T".into()),
            "DetailNotObject",
        ),
        (
            b"not json",
            DetailType::Constant("T".into()),
            "DetailNotObject",
        ),
        (
            br#"{"kind": 5}"#,
            path("$.value.kind"),
            "DetailTypeNotFound",
        ),
        (
            br#"{"other": "x"}"#,
            path("$.value.kind"),
            "DetailTypeNotFound",
        ),
    ];
    for (value, detail_type, code) in cases {
        let f = spec(detail_type, Detail::Value)
            .entry(0, &record(0, Some(value), None))
            .unwrap_err();
        assert_eq!(f.kind, FailureKind::InvalidPayload, "{value:?}");
        assert_eq!(f.code, code, "{value:?}");
    }
    let tombstone = spec(DetailType::Constant("T".into()), Detail::Value)
        .entry(0, &record(0, None, None))
        .unwrap_err();
    assert!(tombstone.message.contains("tombstone"), "{tombstone}");
    // An envelope is always an object.
    assert!(
        spec(DetailType::Constant("T".into()), Detail::Envelope)
            .entry(0, &record(0, None, None))
            .is_ok()
    );
}

#[test]
fn an_entry_over_the_request_limit_is_payload_too_large_alone() {
    let small = record(0, Some(br#"{"a":1}"#), Some(1));
    let big = record(
        1,
        Some(format!(r#"{{"a":"{}"}}"#, "x".repeat(200)).as_bytes()),
        Some(1),
    );
    let batch = vec![small.clone(), big, small];
    let s = spec(DetailType::Constant("T".into()), Detail::Value);
    let mut outcomes = vec![Outcome::NotAttempted; 3];
    let entries = s.entries(&batch, 100, &mut outcomes);
    assert_eq!(entries.iter().map(|e| e.index).collect::<Vec<_>>(), [0, 2]);
    assert!(entries.iter().all(|e| e.size <= 100));
    let Outcome::Failed(f) = &outcomes[1] else {
        panic!("the large entry fails alone: {outcomes:?}");
    };
    assert_eq!(
        (f.kind, f.code.as_str()),
        (FailureKind::PayloadTooLarge, "EntryTooLarge")
    );
    assert!(!f.is_retryable());
    assert_eq!(f.cause(), Cause::Record);
    assert_eq!(outcomes[0], Outcome::NotAttempted, "not sent yet");
    assert_eq!(outcomes[2], Outcome::NotAttempted);
}

#[test]
fn split_respects_count_and_bytes_in_order() {
    assert_eq!(split(&[], 10, 100), Vec::<usize>::new());
    assert_eq!(split(&[1; 25], 10, 1_000), [10, 10, 5]);
    assert_eq!(split(&[40, 40, 40, 40, 40], 10, 100), [2, 2, 1]);
    // An entry exactly at the limit fits, alone.
    assert_eq!(split(&[10, 100, 10], 10, 100), [1, 1, 1]);
    assert_eq!(split(&[50, 50, 1], 10, 100), [2, 1]);
}

proptest! {
    /// Every request holds at most `max_entries` entries and `max_bytes` bytes, the requests
    /// keep every entry in order, and a request is only closed when the next entry would not
    /// fit (no needless extra requests).
    #[test]
    fn split_never_exceeds_limits(
        sizes in proptest::collection::vec(1usize..=64, 0..40),
        max_entries in 1usize..=MAX_ENTRIES,
        max_bytes in 64usize..=200,
    ) {
        let counts = split(&sizes, max_entries, max_bytes);
        prop_assert_eq!(counts.iter().sum::<usize>(), sizes.len());
        let mut start = 0;
        for (i, &n) in counts.iter().enumerate() {
            prop_assert!(n >= 1 && n <= max_entries);
            let bytes: usize = sizes[start..start + n].iter().sum();
            prop_assert!(bytes <= max_bytes);
            if i + 1 < counts.len() {
                let next = sizes[start + n];
                prop_assert!(n == max_entries || bytes + next > max_bytes);
            }
            start += n;
        }
    }
}

fn ok_entry() -> PutEventsResultEntry {
    PutEventsResultEntry::builder().event_id("id").build()
}

fn failed_entry(code: &str, message: &str) -> PutEventsResultEntry {
    PutEventsResultEntry::builder()
        .error_code(code)
        .error_message(message)
        .build()
}

#[test]
fn result_entries_become_per_record_outcomes() {
    let results = [
        ok_entry(),
        failed_entry("ThrottlingException", "Rate exceeded"),
        failed_entry("MalformedDetail", "Detail is malformed."),
        failed_entry("InternalFailure", "oops"),
        failed_entry("InvalidArgument", "Parameter DetailType is not valid."),
        failed_entry("AccessDeniedException", "not allowed"),
    ];
    let outcomes = entry_outcomes(&results, 7);
    assert_eq!(outcomes[0], Outcome::Delivered);
    let kinds: Vec<_> = outcomes[1..]
        .iter()
        .map(|o| match o {
            Outcome::Failed(f) => (f.kind, f.code.as_str(), f.cause()),
            other => panic!("every rejected entry fails alone: {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (FailureKind::Throttled, "ThrottlingException", Cause::Target),
            (
                FailureKind::InvalidPayload,
                "MalformedDetail",
                Cause::Record
            ),
            (FailureKind::Unavailable, "InternalFailure", Cause::Target),
            (
                FailureKind::InvalidPayload,
                "InvalidArgument",
                Cause::Record
            ),
            (
                FailureKind::AccessDenied,
                "AccessDeniedException",
                Cause::Target
            ),
            // Not reported at all: held and sent again rather than lost or dead-lettered.
            (
                FailureKind::Unavailable,
                "MissingResultEntry",
                Cause::Target
            ),
        ]
    );
    assert_eq!(
        outcomes[4].failure().unwrap().message,
        "Parameter DetailType is not valid."
    );
}

/// Entries of `n` records of one byte each, at batch indexes `0..n`.
fn entries(n: usize) -> Vec<Entry> {
    let s = spec(DetailType::Constant("T".into()), Detail::Value);
    (0..n)
        .map(|i| s.entry(i, &record(i as i64, Some(b"{}"), None)).unwrap())
        .collect()
}

/// Runs `deliver_entries` with request answers given in order; returns the outcome and the
/// number of entries of each request sent.
fn deliver(
    outcomes: Vec<Outcome>,
    entries: Vec<Entry>,
    answers: Vec<Result<(), Failure>>,
) -> (Delivery, Vec<usize>) {
    let answers = std::cell::RefCell::new(answers.into_iter());
    let sent = std::cell::RefCell::new(Vec::new());
    let delivery = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(deliver_entries(outcomes, entries, 1 << 20, |part| {
            sent.borrow_mut().push(part.len());
            let answer = answers.borrow_mut().next().expect("an answer per request");
            async move { answer.map(|()| vec![Outcome::Delivered; part.len()]) }
        }));
    (delivery, sent.into_inner())
}

#[test]
fn a_failed_request_is_shared_by_its_entries_and_stops_the_batch() {
    let f = Failure::new(FailureKind::Throttled, "ThrottlingException", "slow down");
    let (delivery, sent) = deliver(
        vec![Outcome::NotAttempted; 25],
        entries(25),
        vec![Ok(()), Err(f.clone())],
    );
    assert_eq!(sent, [10, 10], "the third request is not sent");
    let mut want = vec![Outcome::Delivered; 10];
    want.extend(vec![Outcome::Shared(f); 10]);
    want.extend(vec![Outcome::NotAttempted; 5]);
    assert_eq!(delivery, Delivery::Partial(want));

    let (delivery, sent) = deliver(
        vec![Outcome::NotAttempted; 25],
        entries(25),
        vec![Ok(()); 3],
    );
    assert_eq!(sent, [10, 10, 5]);
    assert_eq!(delivery, Delivery::Delivered);
}

#[test]
fn a_failed_request_of_one_entry_fails_it_alone() {
    let f = Failure::new(FailureKind::NotFound, "ResourceNotFoundException", "no bus");
    let (delivery, _) = deliver(
        vec![Outcome::NotAttempted; 1],
        entries(1),
        vec![Err(f.clone())],
    );
    assert_eq!(
        delivery,
        Delivery::Partial(vec![Outcome::Failed(f.clone())])
    );

    // Records that could not become entries keep their own failure, even when a request of
    // the batch fails.
    let invalid = Failure::new(FailureKind::InvalidPayload, "DetailNotObject", "an array");
    let mut outcomes = vec![Outcome::NotAttempted; 3];
    outcomes[1] = Outcome::Failed(invalid.clone());
    let mut built = entries(3);
    built.remove(1);
    let (delivery, sent) = deliver(outcomes, built, vec![Err(f.clone())]);
    assert_eq!(sent, [2]);
    assert_eq!(
        delivery,
        Delivery::Partial(vec![
            Outcome::Shared(f.clone()),
            Outcome::Failed(invalid),
            Outcome::Shared(f),
        ])
    );
}

/// Records that cannot be sent fail before any request: the client (pointing nowhere) is never
/// called. A record that can be sent to a closed port fails as `unavailable`.
#[tokio::test]
async fn deliver_fails_unsendable_records_without_a_request() {
    use aws_config::{BehaviorVersion, Region};
    use aws_sdk_eventbridge::config::Credentials;
    use fanout_engine::Target;

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .build();
    let client = aws_sdk_eventbridge::Client::from_conf(config);
    let target = crate::PutEventsTarget::new(
        client,
        spec(DetailType::Constant("T".into()), Detail::Value),
        100,
        "r/t".into(),
    );
    let unsendable = vec![
        record(0, Some(b"[]"), None),
        record(
            1,
            Some(format!(r#"{{"a":"{}"}}"#, "x".repeat(200)).as_bytes()),
            None,
        ),
    ];
    let Ok(Delivery::Partial(outcomes)) = target.deliver(&unsendable).await else {
        panic!("two different failures make a partial result");
    };
    let kinds: Vec<_> = outcomes
        .iter()
        .map(|o| match o {
            Outcome::Failed(f) => f.kind,
            other => panic!("each fails alone: {other:?}"),
        })
        .collect();
    assert_eq!(
        kinds,
        [FailureKind::InvalidPayload, FailureKind::PayloadTooLarge]
    );

    let sendable = vec![record(2, Some(br#"{"a":1}"#), None)];
    let Ok(Delivery::Partial(outcomes)) = target.deliver(&sendable).await else {
        panic!("the request fails");
    };
    let [Outcome::Failed(failure)] = &outcomes[..] else {
        panic!("a request of one record fails it alone: {outcomes:?}");
    };
    assert_eq!(failure.kind, FailureKind::Unavailable, "{failure}");
    assert_eq!(failure.cause(), Cause::Target, "held, never dead-lettered");
}
