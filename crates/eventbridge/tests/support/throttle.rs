//! A small HTTP proxy in front of moto that makes EventBridge throttle single entries, which
//! moto itself never does.
//!
//! For each `PutEvents` request, an entry whose `Detail` contains the marker and has not been
//! seen before is answered with a per-entry `ThrottlingException` (and not forwarded); the
//! other entries are forwarded to moto, and the two sets of result entries are merged back in
//! request order with `FailedEntryCount` adjusted — the shape real EventBridge answers with.
//!
//! While [`ThrottleProxy::missing_bus`] is set, every `PutEvents` request is answered as
//! EventBridge answers one for a bus that does not exist (HTTP 400
//! `ResourceNotFoundException`), and not forwarded: a bus that "appears" when the flag is
//! cleared, with its rules already in place.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The running proxy; stops when dropped.
pub struct ThrottleProxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Entries answered with `ThrottlingException` so far.
    pub throttled: Arc<AtomicUsize>,
    /// While set, `PutEvents` requests are answered `ResourceNotFoundException`.
    pub missing_bus: Arc<AtomicBool>,
    /// `PutEvents` requests answered `ResourceNotFoundException` so far.
    pub refused: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

struct Shared {
    upstream: String,
    marker: String,
    seen: Mutex<HashSet<String>>,
    throttled: Arc<AtomicUsize>,
    missing_bus: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
}

impl ThrottleProxy {
    /// Proxies to `upstream` (`host:port`), throttling once each entry whose detail contains
    /// `marker`.
    pub async fn start(upstream: &str, marker: &str) -> ThrottleProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let throttled = Arc::new(AtomicUsize::new(0));
        let missing_bus = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicUsize::new(0));
        let shared = Arc::new(Shared {
            upstream: upstream.to_owned(),
            marker: marker.to_owned(),
            seen: Mutex::new(HashSet::new()),
            throttled: throttled.clone(),
            missing_bus: missing_bus.clone(),
            refused: refused.clone(),
        });
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn, shared.clone()));
            }
        });
        ThrottleProxy {
            url,
            throttled,
            missing_bus,
            refused,
            task,
        }
    }
}

impl Drop for ThrottleProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One HTTP/1.1 request: head lines and body.
struct Request {
    lines: Vec<String>,
    body: Vec<u8>,
}

async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        lines.push(line);
    }
    let length = header(&lines, "content-length").map_or(0, |v| v.parse().unwrap());
    if header(&lines, "expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) {
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .ok()?;
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(Request { lines, body })
}

fn header<'a>(lines: &'a [String], name: &str) -> Option<&'a str> {
    lines.iter().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

async fn serve(conn: TcpStream, shared: Arc<Shared>) {
    let mut reader = BufReader::new(conn);
    while let Some(request) = read_request(&mut reader).await {
        let (status, body) =
            if header(&request.lines, "x-amz-target") == Some("AWSEvents.PutEvents") {
                put_events(&request, &shared).await
            } else {
                forward(&request.lines, &request.body, &shared.upstream).await
            };
        let head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        let conn = reader.get_mut();
        if conn.write_all(head.as_bytes()).await.is_err() || conn.write_all(&body).await.is_err() {
            return;
        }
    }
}

async fn put_events(request: &Request, shared: &Shared) -> (String, Vec<u8>) {
    if shared.missing_bus.load(Ordering::SeqCst) {
        shared.refused.fetch_add(1, Ordering::SeqCst);
        let answer = json!({"__type": "ResourceNotFoundException",
                            "message": "Event bus does not exist."});
        return ("400 Bad Request".into(), answer.to_string().into_bytes());
    }
    let mut body: Value = serde_json::from_slice(&request.body).unwrap();
    let entries = body["Entries"].as_array().cloned().unwrap_or_default();
    let throttle: Vec<bool> = {
        let mut seen = shared.seen.lock().unwrap();
        entries
            .iter()
            .map(|e| {
                let detail = e["Detail"].as_str().unwrap_or_default();
                detail.contains(&shared.marker) && seen.insert(detail.to_owned())
            })
            .collect()
    };
    let forwarded: Vec<Value> = entries
        .iter()
        .zip(&throttle)
        .filter(|(_, t)| !**t)
        .map(|(e, _)| e.clone())
        .collect();
    let mut upstream = json!({"FailedEntryCount": 0, "Entries": []});
    if !forwarded.is_empty() {
        body["Entries"] = Value::Array(forwarded);
        let (status, answer) = forward(
            &request.lines,
            body.to_string().as_bytes(),
            &shared.upstream,
        )
        .await;
        if !status.starts_with("200") {
            return (status, answer);
        }
        upstream = serde_json::from_slice(&answer).unwrap();
    }
    let mut accepted = upstream["Entries"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter();
    let mut failed = upstream["FailedEntryCount"].as_u64().unwrap_or(0);
    let merged: Vec<Value> = throttle
        .iter()
        .map(|&t| {
            if t {
                failed += 1;
                shared.throttled.fetch_add(1, Ordering::SeqCst);
                json!({"ErrorCode": "ThrottlingException", "ErrorMessage": "Rate exceeded"})
            } else {
                accepted.next().unwrap_or(Value::Null)
            }
        })
        .collect();
    let answer = json!({"FailedEntryCount": failed, "Entries": merged});
    ("200 OK".into(), answer.to_string().into_bytes())
}

/// Sends a request upstream on a fresh connection; returns the status (`200 OK`) and body.
async fn forward(lines: &[String], body: &[u8], upstream: &str) -> (String, Vec<u8>) {
    let mut head = String::new();
    head.push_str(&lines[0]);
    head.push_str("\r\n");
    for line in &lines[1..] {
        let name = line.split(':').next().unwrap_or_default().trim();
        if !["content-length", "connection", "expect"]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
        {
            head.push_str(line);
            head.push_str("\r\n");
        }
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut conn = TcpStream::connect(upstream).await.unwrap();
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(body).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP response");
    let response_head = String::from_utf8_lossy(&answer[..split]).into_owned();
    assert!(
        !response_head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "the proxy does not handle chunked responses"
    );
    let status = response_head
        .lines()
        .next()
        .and_then(|l| l.split_once(' '))
        .map(|(_, s)| s.to_owned())
        .unwrap_or_default();
    (status, answer[split + 4..].to_vec())
}
