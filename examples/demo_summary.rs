//! The demo's summary table (`scripts/demo.sh`): per route and target, what fanout's metrics
//! say (matched, delivered, retried, dead-lettered), how many events reached the SQS queue
//! behind each EventBridge bus, and a sample of the dead-letter topic with its `fanout.*`
//! headers.
//!
//! ```text
//! curl -s http://127.0.0.1:19464/metrics > metrics.txt
//! demo_summary --metrics metrics.txt --bootstrap 127.0.0.1:19192 --dlq fanout-dlq \
//!     --produced orders=1608 --queue order-audit/audit-bus=orders-audit-queue \
//!     --dead-lettered order-fraud-check/fraud-check=8
//! ```
//!
//! SQS is reached through the standard AWS environment (`AWS_ENDPOINT_URL_SQS`, ...). Exits 1
//! when the numbers do not add up (a record not consumed, an event missing from its queue, a
//! dead-lettered record missing from the DLQ topic, a target that dead-lettered another number
//! of records than `--dead-lettered` says).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;

#[derive(Parser)]
#[command(about = "Summary table of fanout's demo (scripts/demo.sh)")]
struct Cli {
    /// A `/metrics` scrape (Prometheus text).
    #[arg(long)]
    metrics: std::path::PathBuf,
    /// Kafka bootstrap servers (to read the DLQ topic).
    #[arg(long, default_value = "127.0.0.1:19192")]
    bootstrap: String,
    /// The DLQ topic.
    #[arg(long, default_value = "fanout-dlq")]
    dlq: String,
    /// `topic=N`: records produced to a topic (checked against what fanout consumed).
    #[arg(long, value_parser = pair)]
    produced: Vec<(String, String)>,
    /// `route/target=queue`: the SQS queue a rule of the target's bus forwards events to.
    #[arg(long, value_parser = pair)]
    queue: Vec<(String, String)>,
    /// `route/target=N`: exactly N records of this target must be dead-lettered (in /metrics
    /// and in the DLQ topic), e.g. the records that fail on purpose and nothing else.
    #[arg(long, value_parser = pair)]
    dead_lettered: Vec<(String, String)>,
    /// DLQ records shown per (target, error kind, error code).
    #[arg(long, default_value_t = 1)]
    samples: usize,
}

fn pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .ok_or_else(|| format!("expected NAME=VALUE, got `{s}`"))
}

/// One sample of a Prometheus text scrape.
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn parse_metrics(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = match line.rsplit_once(' ') {
            Some(p) => p,
            None => continue,
        };
        let Ok(value) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = match series.split_once('{') {
            None => (series.to_owned(), BTreeMap::new()),
            Some((name, rest)) => (name.to_owned(), parse_labels(rest.trim_end_matches('}'))),
        };
        out.push(Sample {
            name,
            labels,
            value,
        });
    }
    out
}

/// `a="x",b="y\"z"` → {a: x, b: y"z}.
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        let name: String = chars
            .by_ref()
            .skip_while(|c| *c == ',' || c.is_whitespace())
            .take_while(|c| *c != '=')
            .collect();
        if name.is_empty() || chars.next() != Some('"') {
            break;
        }
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(name, value);
    }
    labels
}

/// Sum of the samples named `name` whose labels include every `(label, value)` of `filter`.
fn sum(samples: &[Sample], name: &str, filter: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            filter
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

fn label_values(samples: &[Sample], name: &str, label: &str) -> Vec<String> {
    let mut v: Vec<String> = samples
        .iter()
        .filter(|s| s.name == name)
        .filter_map(|s| s.labels.get(label).cloned())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// A dead-lettered record as read back from the DLQ topic.
struct DeadLetter {
    key: String,
    value: String,
    headers: Vec<(String, String)>,
}

impl DeadLetter {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// Reads the DLQ topic from the start until nothing came for [`QUIET`] (tansu's high watermark
/// is not exact, so it is not used as the end; nor is the number of records expected, so that
/// a record too many is seen).
fn read_dlq(bootstrap: &str, topic: &str) -> anyhow::Result<Vec<DeadLetter>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "fanout-demo-summary")
        .set("enable.auto.commit", "false")
        .create()
        .context("Kafka consumer")?;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(10))
        .context("DLQ topic metadata")?;
    let mut assignment = TopicPartitionList::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            assignment.add_partition_offset(topic, p.id(), Offset::Beginning)?;
        }
    }
    consumer.assign(&assignment)?;
    let mut out = Vec::new();
    let mut last = Instant::now();
    while last.elapsed() < QUIET {
        let Some(message) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let message = message.context("reading the DLQ topic")?;
        last = Instant::now();
        let text = |b: Option<&[u8]>| b.map(|b| String::from_utf8_lossy(b).into_owned());
        let headers = message
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_owned(), text(h.value).unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default();
        out.push(DeadLetter {
            key: text(message.key()).unwrap_or_else(|| "<none>".into()),
            value: text(message.payload()).unwrap_or_else(|| "<none>".into()),
            headers,
        });
    }
    Ok(out)
}

/// How long the DLQ topic must stay without a new record before it is taken as read.
const QUIET: Duration = Duration::from_secs(5);

/// Events waiting in a queue, and one of them (left in the queue).
async fn queue_events(sqs: &aws_sdk_sqs::Client, queue: &str) -> anyhow::Result<(u64, String)> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let url = sqs
        .get_queue_url()
        .queue_name(queue)
        .send()
        .await
        .with_context(|| format!("SQS queue {queue}"))?
        .queue_url()
        .context("queue URL")?
        .to_owned();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await?;
    let get = |a: A| {
        attributes
            .attributes()
            .and_then(|m| m.get(&a))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let count = get(A::ApproximateNumberOfMessages) + get(A::ApproximateNumberOfMessagesNotVisible);
    let received = sqs
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(1)
        .visibility_timeout(0)
        .send()
        .await?;
    let example = received
        .messages()
        .first()
        .and_then(|m| m.body())
        .and_then(|b| serde_json::from_str::<Value>(b).ok())
        .map(|e| {
            format!(
                "source={} detail-type={} detail={}",
                e["source"].as_str().unwrap_or("?"),
                e["detail-type"].as_str().unwrap_or("?"),
                cut(&e["detail"].to_string(), 90)
            )
        })
        .unwrap_or_default();
    Ok((count, example))
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut t: String = s.chars().take(max).collect();
    t.push('…');
    t
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let text = std::fs::read_to_string(&cli.metrics)
        .with_context(|| format!("read {}", cli.metrics.display()))?;
    let m = parse_metrics(&text);
    let mut problems: Vec<String> = Vec::new();

    println!("Records per topic");
    println!("  {:<16} {:>9} {:>9}", "topic", "produced", "consumed");
    for (topic, produced) in &cli.produced {
        let consumed = sum(&m, "fanout_records_consumed_total", &[("topic", topic)]) as u64;
        println!("  {topic:<16} {produced:>9} {consumed:>9}");
        if produced.parse::<u64>().ok() != Some(consumed) {
            problems.push(format!("{topic}: produced {produced}, consumed {consumed}"));
        }
    }

    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sqs = aws_sdk_sqs::Client::new(&config);
    let mut examples = Vec::new();
    println!();
    println!("Deliveries per route and target (from /metrics; SQS: events the bus rule forwarded)");
    let header = format!(
        "  {:<26} {:<13} {:>8} {:>10} {:>8} {:>14}  {}",
        "route", "target", "matched", "delivered", "retried", "dead-lettered", "reached SQS queue"
    );
    println!("{header}");
    println!("  {}", "-".repeat(header.len() + 6));
    let mut dead_total = 0u64;
    for qualified in label_values(&m, "fanout_deliveries_total", "target") {
        let (route, target) = qualified.split_once('/').unwrap_or(("?", &qualified));
        let matched = sum(&m, "fanout_records_matched_total", &[("route", route)]) as u64;
        let t = [("target", qualified.as_str())];
        let delivered = sum(
            &m,
            "fanout_deliveries_total",
            &[("target", &qualified), ("outcome", "delivered")],
        ) as u64;
        let dead = sum(
            &m,
            "fanout_deliveries_total",
            &[("target", &qualified), ("outcome", "dead_lettered")],
        ) as u64;
        let retried = sum(&m, "fanout_retries_total", &t) as u64;
        dead_total += dead;
        let sqs_column = match cli.queue.iter().find(|(q, _)| *q == qualified) {
            None => "-".to_owned(),
            Some((_, queue)) => {
                let (count, example) = queue_events(&sqs, queue).await?;
                if count != delivered {
                    problems.push(format!(
                        "{qualified}: {delivered} delivered to the bus, {count} in {queue}"
                    ));
                }
                examples.push((queue.clone(), example));
                format!("{count} ({queue})")
            }
        };
        println!(
            "  {route:<26} {target:<13} {matched:>8} {delivered:>10} {retried:>8} {dead:>14}  {sqs_column}"
        );
        if delivered + dead != matched {
            problems.push(format!(
                "{qualified}: matched {matched}, but delivered {delivered} + dead-lettered {dead}"
            ));
        }
    }
    for (queue, example) in &examples {
        println!("  e.g. in {queue}: {example}");
    }

    println!();
    println!("Dead-lettered by target and error (from /metrics)");
    for s in m.iter().filter(|s| s.name == "fanout_dead_lettered_total") {
        let l = |k: &str| s.labels.get(k).map_or("?", String::as_str);
        println!(
            "  {:<40} {:<9} {:<18} {:>5}",
            l("target"),
            l("error_class"),
            l("error_kind"),
            s.value
        );
    }

    let dlq = read_dlq(&cli.bootstrap, &cli.dlq)?;
    if dlq.len() as u64 != dead_total {
        problems.push(format!(
            "{}: {} records, but {dead_total} were dead-lettered",
            cli.dlq,
            dlq.len()
        ));
    }
    println!();
    println!(
        "DLQ sample: topic {} holds {} records; {} per (target, error kind, code)",
        cli.dlq,
        dlq.len(),
        cli.samples
    );
    let mut groups: BTreeMap<(String, String, String), Vec<&DeadLetter>> = BTreeMap::new();
    for d in &dlq {
        groups
            .entry((
                d.header("fanout.target").to_owned(),
                d.header("fanout.error.kind").to_owned(),
                d.header("fanout.error.code").to_owned(),
            ))
            .or_default()
            .push(d);
    }
    for ((target, kind, code), records) in &groups {
        println!("  {target}  {kind} / {code}  ({} records)", records.len());
        for d in records.iter().take(cli.samples) {
            println!(
                "    from {}-{}@{}  key={}",
                d.header("fanout.source.topic"),
                d.header("fanout.source.partition"),
                d.header("fanout.source.offset"),
                d.key
            );
            println!(
                "      fanout.reason={}  fanout.attempts={}  fanout.error.class={}",
                d.header("fanout.reason"),
                d.header("fanout.attempts"),
                d.header("fanout.error.class")
            );
            println!(
                "      fanout.error.kind={}  fanout.error.code={}",
                d.header("fanout.error.kind"),
                d.header("fanout.error.code")
            );
            println!(
                "      fanout.error.message={}",
                cut(d.header("fanout.error.message"), 150)
            );
            println!("      value={}", cut(&d.value, 110));
        }
    }

    for (target, expected) in &cli.dead_lettered {
        let in_metrics = sum(
            &m,
            "fanout_deliveries_total",
            &[("target", target), ("outcome", "dead_lettered")],
        ) as u64;
        let in_dlq = dlq
            .iter()
            .filter(|d| d.header("fanout.target") == target)
            .count();
        if expected.parse::<u64>().ok() != Some(in_metrics) || *expected != in_dlq.to_string() {
            problems.push(format!(
                "{target}: expected {expected} dead-lettered, /metrics says {in_metrics}, the DLQ topic holds {in_dlq}"
            ));
        }
    }

    println!();
    if problems.is_empty() {
        println!(
            "Checks: every record consumed; every (record, target) delivered or dead-lettered; bus deliveries = SQS events; DLQ topic = dead-lettered count; dead-lettered only as expected ({}). OK",
            cli.dead_lettered
                .iter()
                .map(|(t, n)| format!("{t}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Ok(())
    } else {
        for p in &problems {
            println!("MISMATCH: {p}");
        }
        std::process::exit(1);
    }
}
