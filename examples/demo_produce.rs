//! The demo's data side (`scripts/demo.sh`): creates the Kafka topics, the EventBridge buses
//! with a rule → SQS queue each, and produces realistic records for the routes in `routes/`.
//!
//! ```text
//! demo_produce setup --bootstrap 127.0.0.1:19192      # topics, buses, rules, queues
//! demo_produce produce --bootstrap 127.0.0.1:19192    # orders, telemetry, tenant events
//! ```
//!
//! AWS settings come from the standard environment (`AWS_ENDPOINT_URL_EVENTBRIDGE`,
//! `AWS_ENDPOINT_URL_SQS`, `AWS_REGION`, credentials). Records are generated from a fixed seed,
//! so every run produces the same data. Some records are meant to fail (see `--help`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use serde_json::{Value, json};

/// Source topics (partitions each) of the routes in `routes/`.
const TOPICS: [&str; 3] = ["orders", "telemetry", "tenant-events"];
/// The buses the routes name, the `source` of their events, and the SQS queue a rule of the
/// bus forwards them to.
const BUSES: [(&str, &str, &str); 2] = [
    ("orders-audit", "com.example.orders", "orders-audit-queue"),
    ("tenants", "com.example.tenants", "tenants-queue"),
];

#[derive(Parser)]
#[command(about = "Topics, buses and records for fanout's demo (scripts/demo.sh)")]
struct Cli {
    /// Kafka bootstrap servers.
    #[arg(long, global = true, default_value = "127.0.0.1:19192")]
    bootstrap: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Creates the topics (and the DLQ topic), the buses, their rules and SQS queues.
    Setup {
        /// Partitions of each source topic.
        #[arg(long, default_value_t = 4)]
        partitions: i32,
        /// The DLQ topic (one partition).
        #[arg(long, default_value = "fanout-dlq")]
        dlq: String,
    },
    /// Produces orders, IoT telemetry and tenant events in one burst. About 1 % of the orders
    /// cannot become an audit event (no `status`, or a legacy CSV line instead of JSON):
    /// `invalid_payload`. The suspicious orders are spread among the others, so that they
    /// share the fraud function's batches with good orders.
    Produce {
        /// Orders (topic `orders`), suspicious ones not counted.
        #[arg(long, default_value_t = 1600)]
        orders: usize,
        /// Orders over the fraud function's automatic-approval limit, among the others (it
        /// fails every invocation carrying one: bisected until each fails alone, retried, then
        /// dead-lettered as `function_error`).
        #[arg(long, default_value_t = 8)]
        suspicious: usize,
        /// Telemetry readings (topic `telemetry`).
        #[arg(long, default_value_t = 1600)]
        telemetry: usize,
        /// Tenant events (topic `tenant-events`).
        #[arg(long, default_value_t = 800)]
        tenant_events: usize,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Setup { partitions, dlq } => {
            create_topics(&cli.bootstrap, partitions, &dlq).await?;
            create_buses().await?;
        }
        Command::Produce {
            orders,
            suspicious,
            telemetry,
            tenant_events,
        } => {
            let producer = producer(&cli.bootstrap)?;
            let mut rng = Rng(0x5eed_f00d);
            let mut odd = Rng(0xbad0_c0de);
            let mut invalid = 0;
            let mut sent = Vec::new();
            // Suspicious order k follows good order (k + 1) · orders / (suspicious + 1).
            let mut after = (1..=suspicious).map(|k| k * orders / (suspicious + 1));
            let mut next = after.next();
            let mut k = 0;
            for i in 0..orders {
                let (key, value, headers, bad) = order(&mut rng, i);
                invalid += usize::from(bad);
                sent.push(send(&producer, "orders", &key, &value, &headers));
                while next == Some(i) {
                    let (key, value) = suspicious_order(&mut odd, k);
                    sent.push(send(
                        &producer,
                        "orders",
                        &key,
                        &value,
                        &[("source", "api")],
                    ));
                    k += 1;
                    next = after.next();
                }
            }
            for i in 0..telemetry {
                let (key, value) = reading(&mut rng, i);
                sent.push(send(&producer, "telemetry", &key, &value, &[]));
            }
            for i in 0..tenant_events {
                let (key, value, headers) = tenant_event(&mut rng, i);
                sent.push(send(&producer, "tenant-events", &key, &value, &headers));
            }
            let total = sent.len();
            for s in sent {
                s.await?;
            }
            producer.flush(Duration::from_secs(30))?;
            println!(
                "produced {total} records: {} orders ({invalid} of them malformed and {k} suspicious on purpose), {telemetry} telemetry readings, {tenant_events} tenant events",
                orders + k
            );
        }
    }
    Ok(())
}

async fn create_topics(bootstrap: &str, partitions: i32, dlq: &str) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .context("Kafka admin client")?;
    let mut topics: Vec<NewTopic> = TOPICS
        .iter()
        .map(|t| NewTopic::new(t, partitions, TopicReplication::Fixed(1)))
        .collect();
    topics.push(NewTopic::new(dlq, 1, TopicReplication::Fixed(1)));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&topics, &options).await? {
        match result {
            Ok(name) => println!("topic {name} created"),
            Err((name, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists)) => {
                println!("topic {name} exists")
            }
            Err((name, code)) => bail!("cannot create topic {name}: {code}"),
        }
    }
    Ok(())
}

async fn create_buses() -> anyhow::Result<()> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let events = aws_sdk_eventbridge::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    for (bus, source, queue) in BUSES {
        let existing = events
            .list_event_buses()
            .name_prefix(bus)
            .send()
            .await
            .context("list event buses")?;
        if !existing.event_buses().iter().any(|b| b.name() == Some(bus)) {
            events
                .create_event_bus()
                .name(bus)
                .send()
                .await
                .with_context(|| format!("create bus {bus}"))?;
        }
        let url = sqs
            .create_queue()
            .queue_name(queue)
            .send()
            .await
            .with_context(|| format!("create queue {queue}"))?
            .queue_url()
            .context("queue URL")?
            .to_owned();
        let attributes = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await?;
        let arn = attributes
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .context("queue ARN")?
            .clone();
        let rule = format!("{bus}-to-sqs");
        events
            .put_rule()
            .name(&rule)
            .event_bus_name(bus)
            .event_pattern(json!({"source": [source]}).to_string())
            .send()
            .await
            .with_context(|| format!("put rule {rule}"))?;
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("sqs")
            .arn(arn)
            .build()?;
        events
            .put_targets()
            .rule(&rule)
            .event_bus_name(bus)
            .targets(target)
            .send()
            .await
            .with_context(|| format!("put targets of {rule}"))?;
        println!("bus {bus}: rule {rule} (source {source}) → SQS queue {queue}");
    }
    Ok(())
}

fn producer(bootstrap: &str) -> anyhow::Result<FutureProducer> {
    ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("linger.ms", "5")
        .set("message.timeout.ms", "30000")
        .create()
        .context("Kafka producer")
}

/// Queues one record at once; the returned future completes when the broker acknowledged it.
fn send(
    producer: &FutureProducer,
    topic: &str,
    key: &str,
    value: &str,
    headers: &[(&str, &str)],
) -> impl Future<Output = anyhow::Result<()>> + use<> {
    let mut h = OwnedHeaders::new();
    for (name, v) in headers {
        h = h.insert(Header {
            key: name,
            value: Some(*v),
        });
    }
    let record = FutureRecord::to(topic)
        .key(key)
        .payload(value)
        .headers(h)
        .timestamp(now_ms());
    let queued = producer
        .send_result(record)
        .map_err(|(e, _)| anyhow::anyhow!("produce to {topic}: {e}"));
    let topic = topic.to_owned();
    async move {
        match queued?.await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err((e, _))) => Err(anyhow::anyhow!("produce to {topic}: {e}")),
            Err(_) => Err(anyhow::anyhow!(
                "produce to {topic}: the producer went away"
            )),
        }
    }
}

/// One order: key (customer id), value, headers, and whether it is malformed on purpose.
fn order(rng: &mut Rng, i: usize) -> (String, String, Vec<(&'static str, &'static str)>, bool) {
    const STATUSES: [&str; 6] = ["placed", "placed", "placed", "paid", "shipped", "cancelled"];
    const TIERS: [&str; 5] = ["new", "standard", "standard", "gold", "platinum"];
    const COUNTRIES: [&str; 10] = ["US", "US", "US", "CA", "CA", "GB", "DE", "FR", "BR", "JP"];
    const CURRENCIES: [(&str, &str); 6] = [
        ("US", "USD"),
        ("CA", "CAD"),
        ("GB", "GBP"),
        ("BR", "BRL"),
        ("JP", "JPY"),
        ("", "EUR"),
    ];
    const CITIES: [&str; 8] = [
        "Springfield",
        "Toronto",
        "Leeds",
        "Lyon",
        "Hamburg",
        "Osaka",
        "Recife",
        "Austin",
    ];
    const SKUS: [(&str, f64); 8] = [
        ("KB-MECH-87", 89.0),
        ("MOUSE-PRO", 49.5),
        ("MON-27-4K", 379.0),
        ("USB-C-HUB", 34.99),
        ("LAPTOP-14", 1249.0),
        ("CHAIR-ERGO", 429.0),
        ("CABLE-2M", 9.99),
        ("DESK-LAMP", 39.0),
    ];
    let customer_no = rng.below(400);
    let customer = format!("cust-{customer_no:04}");
    let tier = TIERS[(customer_no % 5) as usize];
    let country = COUNTRIES[rng.below(COUNTRIES.len() as u64) as usize];
    let currency = CURRENCIES
        .iter()
        .find(|(c, _)| *c == country)
        .map_or("EUR", |(_, cur)| cur);
    let mut items = Vec::new();
    let mut amount = 0.0;
    for _ in 0..1 + rng.below(3) {
        let (sku, price) = SKUS[rng.below(SKUS.len() as u64) as usize];
        let qty = 1 + rng.below(3);
        amount += price * qty as f64;
        items.push(json!({"sku": sku, "qty": qty, "price": price}));
    }
    let amount = (amount * 100.0).round() / 100.0;
    let order_id = format!("ORD-{:06}", 100_001 + i);
    let source = ["web", "web", "mobile", "pos"][rng.below(4) as usize];
    let headers = vec![("source", source)];
    // Malformed on purpose (dead-lettered by the audit bus as `invalid_payload`):
    if i % 150 == 75 {
        // A legacy point-of-sale terminal sends CSV: the record view's value is a string,
        // so `detail_type: {path: "$.value.status"}` selects nothing.
        let csv = format!("{order_id},{customer},{amount:.2},{currency}");
        return (customer, csv, vec![("source", "pos-legacy")], true);
    }
    let mut value = json!({
        "order_id": order_id,
        "status": STATUSES[rng.below(STATUSES.len() as u64) as usize],
        "amount": amount,
        "currency": currency,
        "customer": {"id": customer, "tier": tier},
        "shipping": {"country": country, "city": CITIES[rng.below(CITIES.len() as u64) as usize]},
        "items": items,
        "placed_at": now_rfc3339(),
    });
    if i % 150 == 140 {
        // A checkout bug drops the status: no detail-type for the audit event.
        value.as_object_mut().expect("object").remove("status");
        return (customer, value.to_string(), headers, true);
    }
    (customer, value.to_string(), headers, false)
}

/// Suspicious order `k`: key (customer id) and value, an order of 60,000–250,000 USD, over the
/// fraud function's automatic-approval limit.
fn suspicious_order(rng: &mut Rng, k: usize) -> (String, String) {
    let customer = format!("cust-{:04}", 9000 + k);
    let amount = 60_000.0 + (rng.below(190_000) as f64) + 0.99;
    let value = json!({
        "order_id": format!("ORD-9{:05}", k + 1),
        "status": "placed",
        "amount": amount,
        "currency": "USD",
        "customer": {"id": customer, "tier": "gold"},
        "shipping": {"country": "US", "city": "Reno"},
        "items": [{"sku": "GPU-RACK-8", "qty": 1 + rng.below(4), "price": amount}],
        "placed_at": now_rfc3339(),
    });
    (customer, value.to_string())
}

/// One IoT reading: key (device id) and value.
fn reading(rng: &mut Rng, i: usize) -> (String, String) {
    let gateway = rng.below(10) == 0;
    let device = if gateway {
        format!("gateway-{:02}", rng.below(12))
    } else {
        format!("sensor-{:04}", rng.below(300))
    };
    // Half the devices sit on the factory networks (10.20.0.0/16, 2001:db8:20::/48).
    let ip = match rng.below(6) {
        0..=2 => format!("10.20.{}.{}", rng.below(8), 2 + rng.below(250)),
        3 => format!("2001:db8:20::{:x}", 1 + rng.below(0xfff)),
        4 => format!("10.30.{}.{}", rng.below(8), 2 + rng.below(250)),
        _ => format!("192.168.{}.{}", rng.below(4), 2 + rng.below(250)),
    };
    let temperature = if rng.below(25) == 0 {
        85.0 + rng.below(150) as f64 / 10.0
    } else {
        18.0 + rng.below(600) as f64 / 10.0
    };
    let battery = if rng.below(30) == 0 {
        rng.below(10)
    } else {
        15 + rng.below(86)
    };
    let rms = if rng.below(30) == 0 {
        4.6 + rng.below(40) as f64 / 10.0
    } else {
        0.2 + rng.below(40) as f64 / 10.0
    };
    let site = ["plant-a", "plant-b", "warehouse-3"][rng.below(3) as usize];
    let firmware = ["1.4.2", "1.5.0", "2.0.1"][rng.below(3) as usize];
    let value = json!({
        "device_id": device,
        "site": site,
        "source_ip": ip,
        "seq": i,
        "temperature_c": temperature,
        "battery": {"level": battery, "charging": rng.below(4) == 0},
        "readings": [
            {"kind": "vibration", "rms": rms},
            {"kind": "humidity", "value": 30 + rng.below(40)},
        ],
        "firmware": firmware,
        "measured_at": now_rfc3339(),
    });
    (device, value.to_string())
}

/// One tenant event: key (tenant id), value, headers `event-type` and `x-priority`.
fn tenant_event(rng: &mut Rng, i: usize) -> (String, String, Vec<(&'static str, &'static str)>) {
    const TENANTS: [&str; 10] = [
        "tenant-ent-acme",
        "tenant-ent-globex",
        "tenant-ent-initech",
        "tenant-ent-umbrella",
        "tenant-smb-bluebird",
        "tenant-smb-kettle",
        "tenant-smb-nimbus",
        "tenant-free-4711",
        "tenant-free-0815",
        "tenant-free-2024",
    ];
    const EVENTS: [&str; 7] = [
        "heartbeat",
        "heartbeat",
        "heartbeat.v2",
        "user.created",
        "user.removed",
        "plan.changed",
        "settings.updated",
    ];
    let tenant = TENANTS[rng.below(TENANTS.len() as u64) as usize];
    let event = EVENTS[rng.below(EVENTS.len() as u64) as usize];
    let priority = ["low", "normal", "normal", "high"][rng.below(4) as usize];
    let changes: Vec<Value> = match event {
        "plan.changed" => vec![json!({"field": "plan", "from": "team", "to": "business"})],
        "settings.updated" => (0..rng.below(3))
            .map(|n| {
                let field = ["sso", "retention_days", "region"][n as usize];
                json!({"field": field, "to": "updated"})
            })
            .collect(),
        "user.created" | "user.removed" => {
            vec![json!({"field": "seats", "from": 10 + i % 7, "to": 11 + i % 7})]
        }
        _ => Vec::new(),
    };
    let value = json!({
        "tenant_id": tenant,
        "event": event,
        "event_id": format!("evt-{:06}", i + 1),
        "actor": format!("user-{:03}", rng.below(200)),
        "changes": changes,
        "at": now_rfc3339(),
    });
    (
        tenant.to_owned(),
        value.to_string(),
        vec![("event-type", event), ("x-priority", priority)],
    )
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The current UTC time as RFC 3339 (seconds).
fn now_rfc3339() -> String {
    let secs = now_ms() / 1000;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A small deterministic generator (SplitMix64), so every demo run has the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
