//! A skewed corpus for the route-scaling benchmark: order, payment, shipment and return records
//! whose entities (tenants, customers, SKUs, e-mail domains, networks, cities) are drawn from
//! Zipf distributions, with fields where one value covers 20–30 % of records (`status` is
//! `PENDING` in 27 %, `region` is `us-east-1` in 28 %, `customer.country` is `US` in ~25 %),
//! nested objects and an `items[]` array of objects; and EventBridge patterns over them in two
//! modes:
//!
//! - **selective**: 2–5 clauses (3.3 on average), one of them on an entity (a customer, SKU,
//!   tenant, e-mail, tracking number or network), values drawn from the records' own
//!   distributions (so popular customers have many routes), operators in the mix
//!   exact 46 %, prefix 16 %, numeric 11 %, equals-ignore-case 6 %, wildcard 6 %,
//!   anything-but 5 %, cidr 5 %, exists 4 %, suffix 1 %. About 2.5 % of the patterns have no
//!   exact, prefix or numeric condition at all (only wildcard, equals-ignore-case, anything-but,
//!   suffix and exists).
//! - **dense**: 2–4 clauses on the shared, low-cardinality fields only (status, region, type,
//!   tier, currency, channel, country, amounts), with the same operator mix: tens to hundreds
//!   of matches per record at 10,000 patterns.
//!
//! Everything is deterministic; the first `n` patterns are the same for every count `>= n`.

use serde_json::{Map, Value, json};

#[path = "common.rs"]
mod common;

pub use common::{KafkaRecord, Rng};

/// The topic of every record and route.
pub const TOPIC: &str = "commerce";

/// Ranks `0..n` drawn with probability proportional to `1 / (rank + 1)^s`.
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Zipf {
        let mut sum = 0.0;
        let mut cdf: Vec<f64> = (1..=n)
            .map(|k| {
                sum += 1.0 / (k as f64).powf(s);
                sum
            })
            .collect();
        cdf.iter_mut().for_each(|c| *c /= sum);
        Zipf { cdf }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let x = rng.unit();
        self.cdf
            .partition_point(|&c| c <= x)
            .min(self.cdf.len() - 1)
    }
}

const TYPES: [&str; 4] = ["order", "payment", "shipment", "return"];
const TYPE_WEIGHTS: [f64; 4] = [40.0, 30.0, 20.0, 10.0];
/// `PENDING` is 27 % of records; the rest Zipf-like.
const STATUSES: [&str; 12] = [
    "PENDING",
    "CONFIRMED",
    "PAID",
    "SHIPPED",
    "DELIVERED",
    "IN_TRANSIT",
    "CANCELLED",
    "REFUNDED",
    "FAILED",
    "ON_HOLD",
    "RETURNED",
    "PARTIAL",
];
const STATUS_WEIGHTS: [f64; 12] = [
    27.0, 18.0, 12.0, 9.0, 7.5, 6.0, 5.0, 4.5, 4.0, 3.0, 2.5, 1.5,
];
const REGIONS: [&str; 10] = [
    "us-east-1",
    "eu-west-1",
    "us-west-2",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "sa-east-1",
    "ca-central-1",
    "ap-south-1",
    "eu-north-1",
];
const REGION_WEIGHTS: [f64; 10] = [28.0, 18.0, 12.0, 10.0, 8.0, 7.0, 5.0, 5.0, 4.0, 3.0];
const TIERS: [&str; 4] = ["bronze", "silver", "gold", "platinum"];
const TIER_WEIGHTS: [f64; 4] = [55.0, 25.0, 15.0, 5.0];
const COUNTRIES: [&str; 24] = [
    "US", "DE", "GB", "FR", "JP", "CA", "BR", "NL", "ES", "IT", "PL", "SE", "AU", "IN", "MX", "CH",
    "AT", "BE", "DK", "NO", "FI", "IE", "PT", "NZ",
];
const CURRENCIES: [&str; 6] = ["USD", "EUR", "GBP", "JPY", "CAD", "BRL"];
const CURRENCY_WEIGHTS: [f64; 6] = [40.0, 33.0, 12.0, 6.0, 5.0, 4.0];
const CHANNELS: [&str; 4] = ["web", "app", "store", "partner"];
const CHANNEL_WEIGHTS: [f64; 4] = [45.0, 30.0, 15.0, 10.0];
const METHODS: [&str; 6] = [
    "card", "paypal", "applepay", "invoice", "klarna", "giftcard",
];
const METHOD_WEIGHTS: [f64; 6] = [55.0, 18.0, 12.0, 8.0, 5.0, 2.0];
const BRANDS: [&str; 4] = ["visa", "mastercard", "amex", "discover"];
const CARRIERS: [&str; 6] = ["ups", "dhl", "fedex", "usps", "gls", "dpd"];
const CARRIER_WEIGHTS: [f64; 6] = [30.0, 25.0, 20.0, 12.0, 8.0, 5.0];
const APPS: [&str; 7] = [
    "checkout-web",
    "checkout-ios",
    "checkout-android",
    "pos-store",
    "partner-api",
    "backoffice",
    "fulfilment-svc",
];
const CATEGORIES: [&str; 10] = [
    "ELEC", "HOME", "TOYS", "BOOK", "FOOD", "SPRT", "BEAU", "AUTO", "GARD", "PETS",
];
const REASONS: [&str; 5] = [
    "damaged",
    "wrong_item",
    "not_as_described",
    "late",
    "changed_mind",
];
const FREE_MAIL: [&str; 4] = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com"];

const TENANTS: usize = 500;
const CUSTOMERS: usize = 50_000;
const SKUS: usize = 20_000;
const DOMAINS: usize = 300;
const CITIES: usize = 400;
const NETWORKS: usize = 256;

/// The Zipf pools shared by records and patterns.
pub struct Pools {
    tenants: Zipf,
    customers: Zipf,
    skus: Zipf,
    domains: Zipf,
    cities: Zipf,
    networks: Zipf,
    countries: Zipf,
    apps: Zipf,
}

impl Pools {
    /// The pools (deterministic).
    pub fn new() -> Pools {
        Pools {
            tenants: Zipf::new(TENANTS, 1.0),
            customers: Zipf::new(CUSTOMERS, 0.9),
            skus: Zipf::new(SKUS, 1.0),
            domains: Zipf::new(DOMAINS, 1.1),
            cities: Zipf::new(CITIES, 1.0),
            networks: Zipf::new(NETWORKS, 1.0),
            countries: Zipf::new(COUNTRIES.len(), 1.3),
            apps: Zipf::new(APPS.len(), 1.0),
        }
    }

    fn tenant(&self, rng: &mut Rng) -> String {
        format!("tenant-{:04}", self.tenants.sample(rng))
    }
    fn customer_n(&self, rng: &mut Rng) -> usize {
        // Scattered so that popular customers do not share a prefix.
        (self.customers.sample(rng) * 7_919) % CUSTOMERS
    }
    fn sku(&self, rng: &mut Rng) -> String {
        sku_name(self.skus.sample(rng))
    }

    /// A rank for a pattern's entity: from the records' distribution for
    /// [`PATTERN_ZIPF_SHARE`] of the patterns (popular entities get many routes), else uniform.
    fn pattern_rank(&self, zipf: &Zipf, rng: &mut Rng) -> usize {
        if rng.chance(PATTERN_ZIPF_SHARE) {
            zipf.sample(rng)
        } else {
            rng.below(zipf.cdf.len() as u64) as usize
        }
    }
    fn pattern_tenant(&self, rng: &mut Rng) -> String {
        format!("tenant-{:04}", self.pattern_rank(&self.tenants, rng))
    }
    fn pattern_customer_n(&self, rng: &mut Rng) -> usize {
        (self.pattern_rank(&self.customers, rng) * 7_919) % CUSTOMERS
    }
    fn pattern_sku(&self, rng: &mut Rng) -> String {
        sku_name(self.pattern_rank(&self.skus, rng))
    }
    fn domain(&self, rng: &mut Rng) -> String {
        let n = self.domains.sample(rng);
        match FREE_MAIL.get(n) {
            Some(d) => (*d).to_owned(),
            None => format!("shop-{n:03}.example.com"),
        }
    }
    fn city(&self, rng: &mut Rng) -> String {
        format!("City-{:03}", self.cities.sample(rng))
    }
    fn network(&self, rng: &mut Rng) -> (u64, u64) {
        let n = self.networks.sample(rng) as u64;
        (10 + n % 8, (n * 37) % 256)
    }
    fn country(&self, rng: &mut Rng) -> &'static str {
        COUNTRIES[self.countries.sample(rng)]
    }
    fn app(&self, rng: &mut Rng) -> &'static str {
        APPS[self.apps.sample(rng)]
    }
}

/// Share of pattern entities drawn from the records' own Zipf distribution.
const PATTERN_ZIPF_SHARE: f64 = 0.15;

fn sku_name(rank: usize) -> String {
    let n = (rank * 104_729) % SKUS;
    format!("SKU-{}-{n:05}", CATEGORIES[n % CATEGORIES.len()])
}

fn email(n: usize, domain: &str) -> String {
    format!("user{n}@{domain}")
}

fn customer(n: usize) -> String {
    format!("cus_{n:06}")
}

fn tracking(n: u64) -> String {
    format!("1Z{n:012}")
}

/// `count` distinct records, the same for the same count.
pub fn records(pools: &Pools, count: usize) -> Vec<KafkaRecord> {
    let mut rng = Rng::new(0x5eed_0017);
    (0..count)
        .map(|i| record(pools, &mut rng, i as u64))
        .collect()
}

fn amount(rng: &mut Rng) -> f64 {
    // Log-uniform from 5 to 5,000.
    let x = 5f64 * 1000f64.powf(rng.unit());
    (x * 100.0).round() / 100.0
}

fn record(pools: &Pools, rng: &mut Rng, i: u64) -> KafkaRecord {
    let ts = 1_795_000_000_000 + (i as i64) * 41;
    let kind = TYPES[rng.weighted(&TYPE_WEIGHTS)];
    let tenant_name = pools.tenant(rng);
    let c = pools.customer_n(rng);
    let country = pools.country(rng);
    let (a, b) = pools.network(rng);
    let items: Vec<Value> = (0..1 + rng.below(6))
        .map(|_| {
            let sku = pools.sku(rng);
            let category = sku[4..8].to_owned();
            json!({
                "sku": sku, "category": category, "qty": 1 + rng.below(5),
                "price": rng.float(1.0, 500.0, 2), "gift": rng.chance(0.05),
            })
        })
        .collect();
    let mut value = json!({
        "type": kind,
        "event_id": format!("evt-{:016x}", rng.next()),
        "occurred_at": format!("2026-11-{:02}T{:02}:{:02}:{:02}Z", 1 + i % 28, i % 24, i % 60, (i * 7) % 60),
        "tenant": tenant_name,
        "region": REGIONS[rng.weighted(&REGION_WEIGHTS)],
        "status": STATUSES[rng.weighted(&STATUS_WEIGHTS)],
        "customer": {
            "id": customer(c),
            "tier": TIERS[rng.weighted(&TIER_WEIGHTS)],
            "country": country,
            "email": email(c, &pools.domain(rng)),
            "since": 2012 + rng.below(14),
        },
        "order": {
            "id": format!("ord-{}-{:08}", &tenant_name[7..], i),
            "total": amount(rng),
            "currency": CURRENCIES[rng.weighted(&CURRENCY_WEIGHTS)],
            "channel": CHANNELS[rng.weighted(&CHANNEL_WEIGHTS)],
            "items_count": items.len(),
        },
        "items": items,
        "source": {
            "app": pools.app(rng),
            "ip": format!("{a}.{b}.{}.{}", rng.below(256), 1 + rng.below(254)),
            "user_agent": format!("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0.{}.{} Safari/537.36", 120 + rng.below(20), rng.below(7000), rng.below(200)),
        },
        "context": {
            "session_id": format!("ses_{:012x}", rng.next() >> 16),
            "request_id": format!("req-{:08x}-{:04x}-{:04x}", rng.next() as u32, rng.below(65536), rng.below(65536)),
            "locale": rng.pick(&["en-US", "de-DE", "en-GB", "fr-FR", "ja-JP", "pt-BR"]),
            "ab_bucket": rng.below(100),
        },
    });
    let object = value.as_object_mut().expect("an object");
    if kind == "payment" || kind == "order" {
        object.insert(
            "payment".into(),
            json!({
                "method": METHODS[rng.weighted(&METHOD_WEIGHTS)],
                "brand": rng.pick(&BRANDS),
                "risk_score": rng.float(0.0, 1.0, 3),
                "attempt": 1 + rng.below(3),
            }),
        );
    }
    if kind == "shipment" || kind == "order" || rng.chance(0.3) {
        let mut shipment = Map::new();
        shipment.insert(
            "carrier".into(),
            CARRIERS[rng.weighted(&CARRIER_WEIGHTS)].into(),
        );
        if kind != "order" {
            shipment.insert("tracking".into(), tracking(rng.below(1_000_000)).into());
        }
        shipment.insert("express".into(), rng.chance(0.2).into());
        shipment.insert(
            "address".into(),
            json!({"city": pools.city(rng), "zip": format!("{:05}", rng.below(99_999)), "country": country}),
        );
        object.insert("shipment".into(), Value::Object(shipment));
    }
    if kind == "return" {
        object.insert(
            "return".into(),
            json!({"reason": rng.pick(&REASONS), "refund": amount(rng), "restock": rng.chance(0.6)}),
        );
    }
    KafkaRecord {
        partition: (i % 12) as i32,
        offset: (i / 12) as i64,
        timestamp: ts,
        key: customer(c).into_bytes(),
        headers: vec![
            (
                "trace-id".into(),
                format!("{:016x}{:016x}", rng.next(), rng.next()).into_bytes(),
            ),
            ("content-type".into(), b"application/json".to_vec()),
        ],
        value: serde_json::to_vec(&value).expect("serializable"),
    }
}

/// Which patterns to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Few matches per record (0.5–5 at 10,000 patterns).
    Selective,
    /// Many matches per record.
    Dense,
}

/// An operator of a clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Exact,
    Prefix,
    Numeric,
    IgnoreCase,
    Wildcard,
    AnythingBut,
    Cidr,
    Exists,
    Suffix,
}

const OPS: [Op; 9] = [
    Op::Exact,
    Op::Prefix,
    Op::Numeric,
    Op::IgnoreCase,
    Op::Wildcard,
    Op::AnythingBut,
    Op::Cidr,
    Op::Exists,
    Op::Suffix,
];
const OP_WEIGHTS: [f64; 9] = [46.0, 16.0, 11.0, 6.0, 6.0, 5.0, 5.0, 4.0, 1.0];

/// `count` patterns over the record value (wrap in `{"value": …}` for fanout).
pub fn patterns(pools: &Pools, mode: Mode, count: usize) -> Vec<Value> {
    let mut rng = Rng::new(match mode {
        Mode::Selective => 0xfa07_0017,
        Mode::Dense => 0xde05_0017,
    });
    (0..count).map(|_| pattern(pools, mode, &mut rng)).collect()
}

/// A clause: a field path and its leaf.
type Clause = (&'static [&'static str], Value);

fn pattern(pools: &Pools, mode: Mode, rng: &mut Rng) -> Value {
    let clauses = match mode {
        Mode::Selective => 2 + rng.weighted(&[20.0, 40.0, 30.0, 10.0]),
        Mode::Dense => 2 + rng.weighted(&[40.0, 40.0, 20.0]),
    };
    let mut chosen: Vec<Clause> = Vec::new();
    if mode == Mode::Selective {
        let unindexable = rng.chance(0.025);
        chosen.push(if unindexable {
            weak_entity(pools, rng)
        } else {
            entity(pools, rng)
        });
        while chosen.len() < clauses {
            let op = if unindexable {
                rng.pick(&[Op::AnythingBut, Op::Exists, Op::Wildcard, Op::IgnoreCase])
            } else {
                OPS[rng.weighted(&OP_WEIGHTS)]
            };
            push_new(&mut chosen, shared(pools, op, rng));
        }
    } else {
        while chosen.len() < clauses {
            let op = OPS[rng.weighted(&OP_WEIGHTS)];
            push_new(&mut chosen, shared(pools, op, rng));
        }
    }
    let mut pattern = Value::Object(Map::new());
    for (path, leaf) in chosen {
        let mut at = &mut pattern;
        for name in &path[..path.len() - 1] {
            at = at
                .as_object_mut()
                .expect("an object")
                .entry(*name)
                .or_insert_with(|| Value::Object(Map::new()));
        }
        at.as_object_mut()
            .expect("an object")
            .insert(path[path.len() - 1].into(), leaf);
    }
    pattern
}

fn push_new(chosen: &mut Vec<Clause>, clause: Clause) {
    if chosen.iter().all(|(path, _)| *path != clause.0) {
        chosen.push(clause);
    }
}

/// A clause on an entity: what makes a selective route selective.
fn entity(pools: &Pools, rng: &mut Rng) -> Clause {
    match rng.weighted(&[
        42.0, // customer id
        14.0, // sku
        4.0,  // tenant
        5.0,  // order id prefix (tenant)
        4.0,  // tracking prefix
        5.0,  // e-mail equals-ignore-case
        4.0,  // e-mail wildcard
        5.0,  // /24 network
        3.0,  // e-mail suffix (domain)
    ]) {
        0 => (
            &["customer", "id"],
            json!([customer(pools.pattern_customer_n(rng))]),
        ),
        1 => (&["items", "sku"], json!([pools.pattern_sku(rng)])),
        2 => (&["tenant"], json!([pools.pattern_tenant(rng)])),
        3 => (
            &["order", "id"],
            json!([{"prefix": format!("ord-{}-", &pools.pattern_tenant(rng)[7..])}]),
        ),
        4 => (
            &["shipment", "tracking"],
            json!([{"prefix": format!("1Z{:04}", rng.below(10_000))}]),
        ),
        5 => {
            let n = pools.pattern_customer_n(rng);
            let address = email(n, &pools.domain(rng)).to_uppercase();
            (
                &["customer", "email"],
                json!([{"equals-ignore-case": address}]),
            )
        }
        6 => (
            &["customer", "email"],
            json!([{"wildcard": format!("user{}@*", pools.pattern_customer_n(rng))}]),
        ),
        7 => {
            let (a, b) = pools.network(rng);
            (
                &["source", "ip"],
                json!([{"cidr": format!("{a}.{b}.{}.0/24", rng.below(256))}]),
            )
        }
        _ => (
            &["customer", "email"],
            json!([{"suffix": format!("@{}", pools.domain(rng))}]),
        ),
    }
}

/// An entity clause the index could not look up before wildcards (by their literal head) and
/// equals-ignore-case values (by their fold) were indexed.
fn weak_entity(pools: &Pools, rng: &mut Rng) -> Clause {
    let n = pools.pattern_customer_n(rng);
    if rng.chance(0.5) {
        (
            &["customer", "email"],
            json!([{"wildcard": format!("user{n}@*")}]),
        )
    } else {
        (
            &["customer", "id"],
            json!([{"equals-ignore-case": customer(n).to_uppercase()}]),
        )
    }
}

/// A clause with operator `op` on a shared, low-cardinality field.
fn shared(pools: &Pools, op: Op, rng: &mut Rng) -> Clause {
    match op {
        Op::Exact => match rng.below(9) {
            0 | 1 => (
                &["status"],
                json!([STATUSES[rng.weighted(&STATUS_WEIGHTS)]]),
            ),
            2 => (&["region"], json!([REGIONS[rng.weighted(&REGION_WEIGHTS)]])),
            3 => (&["type"], json!([TYPES[rng.weighted(&TYPE_WEIGHTS)]])),
            4 => (
                &["customer", "tier"],
                json!([TIERS[rng.weighted(&TIER_WEIGHTS)]]),
            ),
            5 => (
                &["order", "currency"],
                json!([CURRENCIES[rng.weighted(&CURRENCY_WEIGHTS)]]),
            ),
            6 => (
                &["payment", "method"],
                json!([METHODS[rng.weighted(&METHOD_WEIGHTS)]]),
            ),
            7 => (&["customer", "country"], json!([pools.country(rng)])),
            _ => (
                &["shipment", "carrier"],
                json!([
                    CARRIERS[rng.weighted(&CARRIER_WEIGHTS)],
                    rng.pick(&CARRIERS)
                ]),
            ),
        },
        Op::Prefix => match rng.below(3) {
            0 => (
                &["items", "sku"],
                json!([{"prefix": format!("SKU-{}-", rng.pick(&CATEGORIES))}]),
            ),
            1 => (
                &["source", "app"],
                json!([{"prefix": rng.pick(&["checkout-", "pos-", "partner-"])}]),
            ),
            _ => (
                &["shipment", "address", "city"],
                json!([{"prefix": format!("City-{}", rng.below(4))}]),
            ),
        },
        Op::Numeric => match rng.below(4) {
            0 => {
                let lo = amount(rng).round();
                (
                    &["order", "total"],
                    json!([{"numeric": [">=", lo, "<", lo * 3.0]}]),
                )
            }
            1 => (
                &["items", "qty"],
                json!([{"numeric": [">=", 2 + rng.below(3)]}]),
            ),
            2 => (
                &["payment", "risk_score"],
                json!([{"numeric": [">", rng.float(0.5, 0.95, 2)]}]),
            ),
            _ => (
                &["items", "price"],
                json!([{"numeric": ["<", 10 + rng.below(200)]}]),
            ),
        },
        Op::IgnoreCase => match rng.below(2) {
            0 => (
                &["customer", "tier"],
                json!([{"equals-ignore-case": TIERS[rng.weighted(&TIER_WEIGHTS)].to_uppercase()}]),
            ),
            _ => (
                &["status"],
                json!([{"equals-ignore-case": STATUSES[rng.weighted(&STATUS_WEIGHTS)].to_lowercase()}]),
            ),
        },
        Op::Wildcard => match rng.below(2) {
            0 => (
                &["source", "app"],
                json!([{"wildcard": rng.pick(&["checkout-*", "*-store", "*-api", "*-svc"])}]),
            ),
            _ => (
                &["customer", "email"],
                json!([{"wildcard": format!("*@{}", pools.domain(rng))}]),
            ),
        },
        Op::AnythingBut => match rng.below(3) {
            0 => (
                &["status"],
                json!([{"anything-but": [rng.pick(&STATUSES), rng.pick(&STATUSES)]}]),
            ),
            1 => (
                &["customer", "country"],
                json!([{"anything-but": [pools.country(rng)]}]),
            ),
            _ => (
                &["payment", "method"],
                json!([{"anything-but": rng.pick(&METHODS)}]),
            ),
        },
        Op::Cidr => {
            let (a, _) = pools.network(rng);
            (&["source", "ip"], json!([{"cidr": format!("{a}.0.0.0/8")}]))
        }
        Op::Exists => match rng.below(3) {
            0 => (&["return", "reason"], json!([{"exists": true}])),
            1 => (&["shipment", "tracking"], json!([{"exists": false}])),
            _ => (&["payment", "brand"], json!([{"exists": true}])),
        },
        Op::Suffix => (
            &["customer", "email"],
            json!([{"suffix": format!(".{}", rng.pick(&["com", "example.com"]))}]),
        ),
    }
}
