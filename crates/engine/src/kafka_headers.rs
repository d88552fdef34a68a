//! Kafka header names as the bytes they are.
//!
//! A Kafka header name is any byte string, but rdkafka's safe API assumes UTF-8: reading a
//! record whose header name is not valid UTF-8 panics (`BorrowedHeaders::try_get`), and
//! `OwnedHeaders::insert` only takes `&str` names. One such record would crash the dispatcher
//! on every restart. These two functions call librdkafka's header functions directly, so that
//! fanout reads every header and writes the original name bytes back (to the DLQ).
//!
//! The only `unsafe` code of the workspace is here.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_char, c_void};
use std::ptr;

use rdkafka::bindings as rdsys;
use rdkafka::message::{BorrowedHeaders, BorrowedMessage, Headers, Message, OwnedHeaders};
use rdkafka::types::RDKafkaRespErr;

/// One header of a consumed record, borrowed from librdkafka's buffer.
pub type RawHeader<'a> = (&'a [u8], Option<&'a [u8]>);

/// Every header of a consumed message in record order, names as bytes.
pub fn read<'m>(msg: &'m BorrowedMessage<'_>) -> Vec<RawHeader<'m>> {
    let Some(headers) = msg.headers() else {
        return Vec::new();
    };
    read_borrowed(headers)
}

/// Every header of a header list, names as bytes.
pub fn read_borrowed(headers: &BorrowedHeaders) -> Vec<RawHeader<'_>> {
    (0..headers.count())
        .filter_map(|idx| get(headers, idx))
        .collect()
}

/// Header `idx` of a header list (`None` past the end), its name as bytes.
pub fn get(headers: &BorrowedHeaders, idx: usize) -> Option<RawHeader<'_>> {
    // A `&BorrowedHeaders` is rdkafka's view of librdkafka's `rd_kafka_headers_t`: its address
    // is the native pointer (rdkafka builds it by casting that pointer, and casts it back the
    // same way in its own `Headers` implementation).
    let native = ptr::from_ref(headers).cast::<rdsys::rd_kafka_headers_t>();
    let mut name: *const c_char = ptr::null();
    let mut value: *const c_void = ptr::null();
    let mut size: usize = 0;
    // SAFETY: `native` is a live header list for the lifetime of `headers`; librdkafka checks
    // `idx` against its count; the out-pointers are valid locals.
    let err =
        unsafe { rdsys::rd_kafka_header_get_all(native, idx, &mut name, &mut value, &mut size) };
    if err != RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR || name.is_null() {
        return None;
    }
    // SAFETY: librdkafka stores header names NUL-terminated and keeps them (and values) alive
    // as long as the header list, which `headers` borrows.
    let name = unsafe { CStr::from_ptr(name) }.to_bytes();
    let value = (!value.is_null())
        // SAFETY: `value` points to `size` bytes owned by the header list.
        .then(|| unsafe { std::slice::from_raw_parts(value.cast::<u8>(), size) });
    Some((name, value))
}

/// Appends a header whose name is any bytes (a name with a NUL byte cannot exist in
/// librdkafka, which stores names NUL-terminated; it is cut there).
pub fn insert(headers: OwnedHeaders, name: &[u8], value: Option<&[u8]>) -> OwnedHeaders {
    let name = name.split(|&b| b == 0).next().unwrap_or_default();
    let native = ptr::from_ref(headers.as_borrowed())
        .cast_mut()
        .cast::<rdsys::rd_kafka_headers_t>();
    let (value_ptr, value_len) = match value {
        Some(v) => (v.as_ptr().cast::<c_void>(), v.len() as isize),
        None => (ptr::null(), 0),
    };
    // SAFETY: `native` is the writable header list `headers` owns (rdkafka's own `insert`
    // passes the same pointer); librdkafka copies the name and value.
    let err = unsafe {
        rdsys::rd_kafka_header_add(
            native,
            name.as_ptr().cast::<c_char>(),
            name.len() as isize,
            value_ptr,
            value_len,
        )
    };
    debug_assert_eq!(err, RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR);
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_not_utf8_round_trip() {
        let names: [&[u8]; 4] = [b"plain", b"\xff\xfe bad", b"", "h\u{e9}".as_bytes()];
        let mut headers = OwnedHeaders::new();
        for (i, name) in names.iter().enumerate() {
            let value = (i % 2 == 0).then_some(&b"v\x00\xff"[..]);
            headers = insert(headers, name, value);
        }
        let read = read_borrowed(headers.as_borrowed());
        assert_eq!(read.len(), names.len());
        for (i, (name, value)) in read.iter().enumerate() {
            assert_eq!(*name, names[i]);
            assert_eq!(*value, (i % 2 == 0).then_some(&b"v\x00\xff"[..]));
        }
    }
}
