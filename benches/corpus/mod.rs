//! A deterministic corpus for the router benchmarks: Kafka-like records of a mixed e-commerce and
//! IoT topic, and selective multi-clause EventBridge patterns and JSONPath filters over them.
//!
//! Records are 0.5–2 KB of JSON: nested objects, arrays of line items or sensor readings, ints
//! and floats, IPv4/IPv6 addresses, enums, timestamps and ids with shared prefixes. Patterns name
//! values drawn from the same distributions (customers, tenants, SKUs, devices, order-id
//! prefixes), so on average only a few routes match a record whatever the pattern count.

use serde_json::{Value, json};

#[path = "common.rs"]
mod common;

pub use common::{KafkaRecord, Rng};

/// The one topic every record and route uses (the worst case: all routes on one topic).
pub const TOPIC: &str = "events";

const TENANTS: u64 = 200;
const CUSTOMERS: u64 = 5_000;
const DEVICES: u64 = 1_000;
const SKUS_PER_CATEGORY: u64 = 500;
const CATEGORIES: [&str; 8] = [
    "ELEC", "HOME", "TOYS", "BOOK", "FOOD", "SPRT", "BEAU", "AUTO",
];
const ORDER_TYPES: [&str; 7] = [
    "order.created",
    "order.paid",
    "order.shipped",
    "order.delivered",
    "order.cancelled",
    "refund.issued",
    "cart.updated",
];
const DEVICE_TYPES: [&str; 3] = ["device.reading", "device.alert", "device.heartbeat"];
const REGIONS: [&str; 8] = [
    "eu-west-1",
    "eu-central-1",
    "us-east-1",
    "us-west-2",
    "ap-southeast-1",
    "ap-northeast-1",
    "sa-east-1",
    "ca-central-1",
];
const COUNTRIES: [&str; 12] = [
    "DE", "FR", "GB", "US", "NL", "ES", "IT", "PL", "SE", "JP", "BR", "CA",
];
const CURRENCIES: [&str; 5] = ["EUR", "USD", "GBP", "JPY", "BRL"];
const CHANNELS: [&str; 4] = ["web", "app", "store", "partner"];
const TIERS: [&str; 4] = ["bronze", "silver", "gold", "platinum"];
const PAYMENTS: [&str; 5] = ["card", "paypal", "invoice", "applepay", "klarna"];
const CARRIERS: [&str; 5] = ["dhl", "ups", "fedex", "gls", "dpd"];
const APPS: [&str; 6] = [
    "checkout-web",
    "checkout-ios",
    "checkout-android",
    "pos-store",
    "partner-api",
    "backoffice",
];
const SENSORS: [&str; 4] = ["temperature", "humidity", "vibration", "pressure"];
const TAGS: [&str; 6] = [
    "promo",
    "first-order",
    "gift",
    "b2b",
    "subscription",
    "priority",
];

fn customer(n: u64) -> String {
    format!("cus_{n:06}")
}
fn tenant(n: u64) -> String {
    format!("tenant-{n:04}")
}
fn device(n: u64) -> String {
    format!("dev-{:03}-{:04}", n % 50, n)
}
fn sku(rng: &mut Rng) -> String {
    let category = rng.pick(&CATEGORIES);
    format!("SKU-{category}-{:05}", rng.below(SKUS_PER_CATEGORY))
}
fn order_prefix(tenant: u64) -> String {
    format!("ord-{tenant:04}-")
}
fn ip(rng: &mut Rng) -> String {
    if rng.chance(0.7) {
        format!(
            "10.{}.{}.{}",
            rng.below(64),
            rng.below(256),
            1 + rng.below(254)
        )
    } else {
        format!(
            "2001:db8:{:x}:{:x}::{:x}",
            rng.below(64),
            rng.below(4096),
            1 + rng.below(65535)
        )
    }
}
fn timestamp(ms: i64) -> String {
    let (secs, millis) = (ms / 1000, ms % 1000);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    format!(
        "2026-11-{:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        1 + days % 28,
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// `count` distinct records, the same for the same count.
pub fn records(count: usize) -> Vec<KafkaRecord> {
    let mut rng = Rng::new(0x5eed);
    (0..count).map(|i| record(&mut rng, i as u64)).collect()
}

fn record(rng: &mut Rng, i: u64) -> KafkaRecord {
    let ts = 1_795_000_000_000 + (i as i64) * 37;
    let t = rng.below(TENANTS);
    let app = rng.pick(&APPS);
    let common = json!({
        "event_id": format!("evt-{:016x}", rng.next()),
        "version": 1 + rng.below(3),
        "occurred_at": timestamp(ts - 1_795_000_000_000),
        "tenant": tenant(t),
        "region": rng.pick(&REGIONS),
        "source": {
            "app": app, "ip": ip(rng), "host": format!("ip-10-0-{}-{}.internal", rng.below(16), rng.below(256)),
            "user_agent": format!("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0.{}.{} Safari/537.36", 120 + rng.below(20), rng.below(7000), rng.below(200)),
        },
        "context": {
            "session_id": format!("ses_{:012x}", rng.next() >> 16),
            "request_id": format!("req-{:08x}-{:04x}-{:04x}", rng.next() as u32, rng.below(65536), rng.below(65536)),
            "locale": rng.pick(&["de-DE", "en-US", "en-GB", "fr-FR", "ja-JP", "pt-BR"]),
            "ab_bucket": rng.below(100),
            "feature_flags": [format!("flag-{}", rng.below(30)), format!("flag-{}", rng.below(30))],
        },
        "metrics": {"latency_ms": rng.below(2000), "retries": rng.below(4)},
    });
    let (key, mut value) = if rng.chance(0.75) {
        order(rng, t, i)
    } else {
        device_event(rng)
    };
    if let (Value::Object(value), Value::Object(common)) = (&mut value, common) {
        value.extend(common);
    }
    KafkaRecord {
        partition: (i % 12) as i32,
        offset: (i / 12) as i64,
        timestamp: ts,
        key: key.into_bytes(),
        headers: vec![
            (
                "trace-id".into(),
                format!("{:016x}{:016x}", rng.next(), rng.next()).into_bytes(),
            ),
            ("content-type".into(), b"application/json".to_vec()),
            ("source".into(), app.as_bytes().to_vec()),
        ],
        value: serde_json::to_vec(&value).expect("serializable"),
    }
}

fn order(rng: &mut Rng, t: u64, i: u64) -> (String, Value) {
    let c = rng.below(CUSTOMERS);
    let items: Vec<Value> = (0..1 + rng.below(6))
        .map(|_| {
            json!({
                "sku": sku(rng),
                "qty": 1 + rng.below(4),
                "price": rng.float(1.0, 400.0, 2),
                "warehouse": format!("wh-{:02}", rng.below(12)),
                "discount": rng.float(0.0, 0.3, 2),
            })
        })
        .collect();
    let total: f64 = items
        .iter()
        .map(|it| it["price"].as_f64().unwrap_or(0.0) * it["qty"].as_f64().unwrap_or(0.0))
        .sum();
    let tags: Vec<&str> = (0..rng.below(3)).map(|_| rng.pick(&TAGS)).collect();
    let country = rng.pick(&COUNTRIES);
    let value = json!({
        "type": rng.pick(&ORDER_TYPES),
        "customer": {
            "id": customer(c),
            "tier": rng.pick(&TIERS),
            "country": country,
            "email": format!("user{c}@example-{}.com", c % 40),
            "since": 2015 + rng.below(11),
        },
        "order": {
            "id": format!("{}{:08}", order_prefix(t), i),
            "currency": rng.pick(&CURRENCIES),
            "total": (total * 100.0).round() / 100.0,
            "items_count": items.len(),
            "channel": rng.pick(&CHANNELS),
            "payment": {"method": rng.pick(&PAYMENTS), "risk_score": rng.float(0.0, 1.0, 3)},
        },
        "items": items,
        "shipping": {
            "carrier": rng.pick(&CARRIERS),
            "express": rng.chance(0.2),
            "address": {"city": format!("City {}", rng.below(300)), "zip": format!("{:05}", rng.below(99_999)), "country": country},
        },
        "tags": tags,
    });
    (customer(c), value)
}

fn device_event(rng: &mut Rng) -> (String, Value) {
    let d = rng.below(DEVICES);
    let readings: Vec<Value> = (0..1 + rng.below(5))
        .map(|_| {
            let kind = rng.pick(&SENSORS);
            json!({"kind": kind, "value": rng.float(-20.0, 60.0, 2), "unit": if kind == "temperature" { "C" } else { "raw" }, "ok": rng.chance(0.95)})
        })
        .collect();
    let value = json!({
        "type": rng.pick(&DEVICE_TYPES),
        "device": {
            "id": device(d),
            "model": format!("model-{}", d % 17),
            "firmware": format!("{}.{}.{}", 1 + d % 3, d % 10, d % 7),
            "battery": rng.float(0.0, 100.0, 1),
            "location": {"lat": rng.float(-60.0, 60.0, 5), "lon": rng.float(-180.0, 180.0, 5), "site": format!("site-{:03}", d % 50)},
        },
        "readings": readings,
        "uptime_s": rng.below(10_000_000),
    });
    (device(d), value)
}

/// `count` multi-clause patterns over the record *value* (the first `n` are the same for every
/// `count >= n`). Wrap each in `{"value": ...}` for fanout; quamina matches the value itself.
pub fn value_patterns(count: usize) -> Vec<Value> {
    let mut rng = Rng::new(0xfa07);
    (0..count).map(|_| value_pattern(&mut rng)).collect()
}

fn value_pattern(rng: &mut Rng) -> Value {
    let roll = rng.below(100);
    let t = tenant(rng.below(TENANTS));
    let c = customer(rng.below(CUSTOMERS));
    match roll {
        0..25 => {
            let mut p = json!({"customer": {"id": [c]}, "type": [rng.pick(&ORDER_TYPES), rng.pick(&ORDER_TYPES)]});
            if rng.chance(0.5) {
                p["order"] = json!({"total": [{"numeric": [">", rng.below(200)]}]});
            }
            p
        }
        25..40 => {
            let lo = rng.below(300) as f64;
            let mut p = json!({
                "tenant": [t], "type": [rng.pick(&ORDER_TYPES)],
                "order": {"total": [{"numeric": [">=", lo, "<", lo + 500.0]}]},
            });
            if rng.chance(0.5) {
                p["order"]["currency"] = json!([rng.pick(&CURRENCIES)]);
            }
            p
        }
        40..52 => json!({
            "items": {"sku": [sku(rng)], "qty": [{"numeric": [">=", 2]}]},
            "region": [rng.pick(&REGIONS), rng.pick(&REGIONS), rng.pick(&REGIONS)],
        }),
        52..62 => json!({
            "order": {"id": [{"prefix": order_prefix(rng.below(TENANTS))}], "channel": [rng.pick(&CHANNELS)]},
            "customer": {"tier": [rng.pick(&TIERS)]},
        }),
        62..72 => json!({
            "device": {"id": [device(rng.below(DEVICES))]},
            "readings": {"kind": [rng.pick(&SENSORS)], "value": [{"numeric": [">", rng.below(50)]}]},
        }),
        72..77 => json!({
            "tenant": [t],
            "customer": {"email": [{"suffix": format!("@example-{}.com", rng.below(40))}], "tier": [{"equals-ignore-case": "GOLD"}]},
        }),
        77..82 => json!({
            "tenant": [t],
            "source": {"ip": [{"cidr": format!("10.{}.0.0/16", rng.below(64))}]},
            "type": [rng.pick(&ORDER_TYPES), rng.pick(&DEVICE_TYPES)],
        }),
        82..87 => json!({
            "customer": {"id": [c], "country": [{"anything-but": [rng.pick(&COUNTRIES), rng.pick(&COUNTRIES)]}]},
            "order": {"payment": {"method": [rng.pick(&PAYMENTS)]}},
        }),
        87..92 => json!({
            "customer": {"id": [c]},
            "shipping": {"express": [true]},
            "tags": [{"exists": true}],
        }),
        92..97 => json!({
            "source": {"app": [{"wildcard": "checkout-*"}]},
            "order": {"id": [{"prefix": order_prefix(rng.below(TENANTS))}]},
            "type": [rng.pick(&ORDER_TYPES)],
        }),
        _ => json!({
            "order": {"total": [{"numeric": [">", 1500 + rng.below(500)]}]},
            "metrics": {"latency_ms": [{"numeric": [">", 1990]}]},
        }),
    }
}

/// `count` JSONPath filter expressions over the record view, mostly with an indexable conjunct.
pub fn jsonpath_filters(count: usize) -> Vec<String> {
    let mut rng = Rng::new(0x9a7e);
    (0..count)
        .map(|_| {
            let t = tenant(rng.below(TENANTS));
            let c = customer(rng.below(CUSTOMERS));
            match rng.below(100) {
                0..35 => format!(
                    "@.value.customer.id == '{c}' && @.value.order.total > {}",
                    rng.below(200)
                ),
                35..60 => format!(
                    "@.value.tenant == '{t}' && @.value.type == '{}' && @.value.order.currency == '{}'",
                    rng.pick(&ORDER_TYPES),
                    rng.pick(&CURRENCIES)
                ),
                60..80 => format!(
                    "$.value.device.id == '{}' && @.value.device.battery < {}",
                    device(rng.below(DEVICES)),
                    rng.below(50)
                ),
                80..99 => format!(
                    "@.key == '{c}' && (@.value.shipping.express == true || @.value.order.channel == '{}')",
                    rng.pick(&CHANNELS)
                ),
                _ => format!("@.value.items[?@.sku == '{}' && @.qty > 2]", sku(&mut rng)),
            }
        })
        .collect()
}
