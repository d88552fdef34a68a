//! A small HTTP/1.1 proxy in front of moto's EventBridge, standing in for the failures moto
//! never produces: a whole `PutEvents` request refused because of what it carries (HTTP 413),
//! and an endpoint refusing every request (wrong credentials, a bus that is not there yet).
//! Its [`Mode`] can change while fanout sends to it, and it logs every `PutEvents` request
//! (entries, answer), so tests can see what reached the bus and in which order.
#![allow(dead_code)] // each test binary uses a different part

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// What the proxy does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// Forward every request to the upstream.
    Forward,
    /// Answer a `PutEvents` request with an entry whose `Detail` contains `marker` with HTTP 413
    /// (`RequestEntityTooLargeException`), as EventBridge does for a request over its size
    /// limit; forward everything else.
    TooLargeWith(String),
    /// Answer every request with this AWS JSON error, forwarding nothing.
    Refuse {
        /// HTTP status.
        status: u16,
        /// The error type (`__type` and `x-amzn-ErrorType`).
        error_type: String,
        /// The message.
        message: String,
    },
}

impl Mode {
    /// What EventBridge answers a request signed with unknown credentials.
    pub fn unrecognized_client() -> Mode {
        Mode::Refuse {
            status: 400,
            error_type: "UnrecognizedClientException".into(),
            message: "The security token included in the request is invalid.".into(),
        }
    }

    /// What EventBridge answers a request for a bus that does not exist.
    pub fn bus_not_found(bus: &str) -> Mode {
        Mode::Refuse {
            status: 400,
            error_type: "ResourceNotFoundException".into(),
            message: format!("Event bus {bus} does not exist."),
        }
    }
}

/// One `PutEvents` request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct PutEventsCall {
    /// Each entry's `Detail`, parsed (JSON `null` when it is not JSON).
    pub details: Vec<Value>,
    /// The HTTP status answered.
    pub status: u16,
    /// Per entry: accepted by the bus (a 200 answer whose result entry has no `ErrorCode`).
    pub accepted: Vec<bool>,
}

/// The running proxy; stops when dropped.
pub struct Proxy {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<State>,
    task: JoinHandle<()>,
}

struct State {
    upstream: String,
    mode: Mutex<Mode>,
    calls: Mutex<Vec<PutEventsCall>>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (`http://host:port` or `host:port`) in `mode`.
    pub async fn start(upstream: &str, mode: Mode) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(State {
            upstream: upstream.trim_start_matches("http://").to_owned(),
            mode: Mutex::new(mode),
            calls: Mutex::new(Vec::new()),
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                tokio::spawn(serve(conn, shared.clone()));
            }
        });
        Proxy { url, state, task }
    }

    /// Changes what the proxy does from the next request on.
    pub fn set_mode(&self, mode: Mode) {
        *self.state.mode.lock().unwrap() = mode;
    }

    /// Every `PutEvents` request so far, in the order they were answered.
    pub fn calls(&self) -> Vec<PutEventsCall> {
        self.state.calls.lock().unwrap().clone()
    }

    /// The details the bus accepted, in order.
    pub fn accepted(&self) -> Vec<Value> {
        self.calls()
            .into_iter()
            .flat_map(|c| {
                c.details
                    .into_iter()
                    .zip(c.accepted)
                    .filter(|(_, ok)| *ok)
                    .map(|(d, _)| d)
            })
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An HTTP/1.1 message: the start line, header lines and body.
struct Message {
    start: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Message {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads the start line and headers; `None` at the end of the stream.
async fn read_head<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
) -> Option<(String, Vec<(String, String)>)> {
    let mut start = String::new();
    if reader.read_line(&mut start).await.ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Some((start.trim_end().to_owned(), headers))
}

async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Message> {
    let (start, headers) = read_head(reader).await?;
    let mut request = Message {
        start,
        headers,
        body: Vec::new(),
    };
    if request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        reader
            .get_mut()
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .ok()?;
    }
    request.body = read_body(reader, &request).await?;
    Some(request)
}

/// The body after a head: chunked, by `content-length`, or (for a response) to the end.
async fn read_body<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    message: &Message,
) -> Option<Vec<u8>> {
    let chunked = message
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        let mut body = Vec::new();
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).await.ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2]; // the chunk and its CRLF
            reader.read_exact(&mut chunk).await.ok()?;
            if size == 0 {
                return Some(body);
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    match message.header("content-length") {
        Some(length) => {
            let mut body = vec![0; length.parse().ok()?];
            reader.read_exact(&mut body).await.ok()?;
            Some(body)
        }
        None if message.start.starts_with("HTTP/") => {
            let mut body = Vec::new();
            reader.read_to_end(&mut body).await.ok()?;
            Some(body)
        }
        None => Some(Vec::new()),
    }
}

async fn serve(conn: TcpStream, state: Arc<State>) {
    let mut reader = BufReader::new(conn);
    while let Some(request) = read_request(&mut reader).await {
        let mode = state.mode.lock().unwrap().clone();
        let put_events = request.header("x-amz-target") == Some("AWSEvents.PutEvents");
        let (status, headers, body) = match &mode {
            Mode::Refuse {
                status,
                error_type,
                message,
            } => refusal(*status, error_type, message),
            Mode::TooLargeWith(marker) if put_events && any_detail_has(&request.body, marker) => {
                refusal(
                    413,
                    "RequestEntityTooLargeException",
                    "Total size of the entries in the request is over the limit.",
                )
            }
            _ => forward(&request, &state.upstream).await,
        };
        if put_events {
            state
                .calls
                .lock()
                .unwrap()
                .push(log(&request.body, status, &body));
        }
        let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
        for (name, value) in &headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
        let conn = reader.get_mut();
        if conn.write_all(head.as_bytes()).await.is_err() || conn.write_all(&body).await.is_err() {
            return;
        }
    }
}

type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// An AWS JSON 1.1 error answer, as AWS sends it (`__type` in the body and the
/// `x-amzn-ErrorType` header).
fn refusal(status: u16, error_type: &str, message: &str) -> Answer {
    let body = json!({"__type": error_type, "message": message});
    (
        status,
        vec![
            ("content-type".into(), "application/x-amz-json-1.1".into()),
            ("x-amzn-ErrorType".into(), format!("{error_type}:")),
        ],
        body.to_string().into_bytes(),
    )
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        _ => "Status",
    }
}

/// Whether the `Detail` of an entry of a `PutEvents` request body contains `marker`.
fn any_detail_has(body: &[u8], marker: &str) -> bool {
    let request: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    request["Entries"].as_array().is_some_and(|entries| {
        entries
            .iter()
            .any(|e| e["Detail"].as_str().is_some_and(|d| d.contains(marker)))
    })
}

fn log(request: &[u8], status: u16, answer: &[u8]) -> PutEventsCall {
    let request: Value = serde_json::from_slice(request).unwrap_or(Value::Null);
    let details: Vec<Value> = request["Entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| {
                    e["Detail"]
                        .as_str()
                        .and_then(|d| serde_json::from_str(d).ok())
                        .unwrap_or(Value::Null)
                })
                .collect()
        })
        .unwrap_or_default();
    let answer: Value = serde_json::from_slice(answer).unwrap_or(Value::Null);
    let accepted = (0..details.len())
        .map(|i| {
            status == 200
                && answer["Entries"][i]
                    .get("ErrorCode")
                    .is_none_or(Value::is_null)
        })
        .collect();
    PutEventsCall {
        details,
        status,
        accepted,
    }
}

/// Sends the request upstream on a connection of its own and returns the answer.
async fn forward(request: &Message, upstream: &str) -> Answer {
    let mut head = format!("{}\r\n", request.start);
    for (name, value) in &request.headers {
        let hop = [
            "content-length",
            "connection",
            "expect",
            "transfer-encoding",
        ];
        if !hop.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        request.body.len()
    ));
    let Ok(mut conn) = TcpStream::connect(upstream).await else {
        return refusal(502, "BadGateway", "the proxy cannot reach moto");
    };
    if conn.write_all(head.as_bytes()).await.is_err()
        || conn.write_all(&request.body).await.is_err()
    {
        return refusal(502, "BadGateway", "the proxy cannot write to moto");
    }
    let mut reader = BufReader::new(conn);
    let Some((start, headers)) = read_head(&mut reader).await else {
        return refusal(502, "BadGateway", "moto closed the connection");
    };
    let mut answer = Message {
        start,
        headers,
        body: Vec::new(),
    };
    let Some(body) = read_body(&mut reader, &answer).await else {
        return refusal(502, "BadGateway", "moto's answer was cut short");
    };
    answer.body = body;
    let status = answer
        .start
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    let keep: Vec<(String, String)> = answer
        .headers
        .into_iter()
        .filter(|(name, _)| {
            ![
                "content-length",
                "connection",
                "transfer-encoding",
                "keep-alive",
            ]
            .iter()
            .any(|h| name.eq_ignore_ascii_case(h))
        })
        .collect();
    (status, keep, answer.body)
}
