//! Checking one route's configuration and compiling it into runtime types.
//!
//! Every problem is collected (not just the first), each with the field path inside the route.

mod delivery;
pub(crate) mod file;
#[cfg(test)]
mod load_tests;

use std::time::Duration;

use serde_json::Value;
use serde_json_path::JsonPath;

use crate::config::{
    DeliveryConfig, DetailConfig, DetailTypeConfig, FilterConfig, InvocationConfig,
    LambdaFormatConfig, RouteConfig, TargetConfig,
};
use crate::filter::Filter;
use crate::jsonpath::JsonPathFilter;
use crate::pattern::Pattern;
use crate::route::{
    CustomTarget, DeliverySettings, Detail, DetailType, EventBridgeTarget, Invocation,
    LambdaFormat, LambdaTarget, TargetKind,
};
use delivery::build_delivery;

/// A problem inside one route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub field: String,
    pub message: String,
    pub hint: Option<String>,
}

/// A route's parts, compiled; ids are given by the table builder.
#[derive(Debug)]
pub(crate) struct BuiltRoute {
    pub name: String,
    pub description: Option<String>,
    pub topics: Vec<String>,
    pub filters: Vec<Filter>,
    pub targets: Vec<(String, TargetKind, DeliverySettings)>,
}

/// Largest and default batch sizes of a target kind.
struct KindLimits {
    kind: &'static str,
    default_records: usize,
    max_records: usize,
    default_bytes: usize,
    max_bytes: usize,
}

const MIB: usize = 1024 * 1024;
const MAX_WAIT_LIMIT: Duration = Duration::from_secs(300);

struct Ctx {
    problems: Vec<Problem>,
}

impl Ctx {
    fn problem(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            field: field.into(),
            message: message.into(),
            hint: None,
        });
    }

    fn hinted(&mut self, field: impl Into<String>, message: impl Into<String>, hint: &str) {
        self.problems.push(Problem {
            field: field.into(),
            message: message.into(),
            hint: Some(hint.to_owned()),
        });
    }
}

pub(crate) fn build_route(cfg: &RouteConfig) -> Result<BuiltRoute, Vec<Problem>> {
    let mut ctx = Ctx {
        problems: Vec::new(),
    };
    if !valid_name(&cfg.name) {
        ctx.hinted(
            "name",
            format!("`{}` is not a valid route name", cfg.name),
            "use 1–128 characters from A–Z a–z 0–9 . _ -",
        );
    }
    if cfg.topics.is_empty() {
        ctx.hinted(
            "topics",
            "a route reads at least one topic",
            "e.g. `topics: [orders]`",
        );
    }
    for (i, topic) in cfg.topics.iter().enumerate() {
        let legal = !topic.is_empty()
            && topic.len() <= 249
            && topic != "."
            && topic != ".."
            && topic
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !legal {
            ctx.hinted(
                format!("topics[{i}]"),
                format!("`{topic}` is not a legal Kafka topic name"),
                "topic names are 1–249 characters from A–Z a–z 0–9 . _ -",
            );
        }
        if cfg.topics[..i].contains(topic) {
            ctx.problem(
                format!("topics[{i}]"),
                format!("topic `{topic}` is listed twice"),
            );
        }
    }
    // Sized up front: a table holds tens of thousands of these vectors.
    let mut filters = Vec::with_capacity(cfg.filters.len());
    for (i, f) in cfg.filters.iter().enumerate() {
        filters.extend(build_filter(&mut ctx, i, f));
    }
    if cfg.targets.is_empty() {
        ctx.hinted(
            "targets",
            "a route needs at least one target",
            "add a target, e.g. `- lambda: {function: my-fn}`",
        );
    }
    let mut targets: Vec<(String, TargetKind, DeliverySettings)> =
        Vec::with_capacity(cfg.targets.len());
    for (i, t) in cfg.targets.iter().enumerate() {
        let kind = match t {
            TargetConfig::Lambda(_) => "lambda",
            TargetConfig::Eventbridge(_) => "eventbridge",
            TargetConfig::Custom(_) => "custom",
        };
        let field = format!("targets[{i}].{kind}");
        let Some(built) = build_target(&mut ctx, &field, &cfg.delivery, t) else {
            continue;
        };
        if targets.iter().any(|(name, _, _)| *name == built.0) {
            ctx.hinted(
                format!("{field}.name"),
                format!("target name `{}` is used twice in this route", built.0),
                "give each target a distinct `name`",
            );
        }
        targets.push(built);
    }
    // A route-level delivery setting is checked for each target: report it once.
    let mut seen = std::collections::HashSet::new();
    ctx.problems
        .retain(|p| seen.insert((p.field.clone(), p.message.clone())));
    if ctx.problems.is_empty() {
        Ok(BuiltRoute {
            name: cfg.name.clone(),
            description: cfg.description.clone(),
            topics: cfg.topics.clone(),
            filters,
            targets,
        })
    } else {
        Err(ctx.problems)
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn build_filter(ctx: &mut Ctx, i: usize, cfg: &FilterConfig) -> Option<Filter> {
    match cfg {
        FilterConfig::Pattern(value) => {
            let field = format!("filters[{i}].pattern");
            let parsed = match value {
                Value::String(text) => Pattern::from_json_str(text),
                other => Pattern::new(other),
            };
            match parsed {
                Ok(pattern) => {
                    let text = match value {
                        Value::String(t) => t.clone(),
                        other => other.to_string(),
                    };
                    Some(Filter::Pattern { pattern, text })
                }
                Err(err) => {
                    for p in err.problems {
                        ctx.problem(field.clone(), format!("at {}: {}", p.path, p.message));
                    }
                    None
                }
            }
        }
        FilterConfig::Jsonpath(expr) => match JsonPathFilter::new(expr) {
            Ok(f) => Some(Filter::JsonPath(f)),
            Err(err) => {
                ctx.hinted(
                    format!("filters[{i}].jsonpath"),
                    err.to_string(),
                    "write an RFC 9535 filter expression, e.g. `@.value.amount > 100 && @.key == 'k1'`",
                );
                None
            }
        },
    }
}

fn build_target(
    ctx: &mut Ctx,
    field: &str,
    route_delivery: &DeliveryConfig,
    cfg: &TargetConfig,
) -> Option<(String, TargetKind, DeliverySettings)> {
    let before = ctx.problems.len();
    let (name, kind, overrides, limits) = match cfg {
        TargetConfig::Lambda(l) => {
            let (function, qualifier) = check_function(ctx, field, &l.function, &l.qualifier);
            let invocation = match l.invocation.unwrap_or(InvocationConfig::Sync) {
                InvocationConfig::Sync => Invocation::Sync,
                InvocationConfig::Async => Invocation::Async,
            };
            check_endpoint(ctx, field, &l.endpoint_url);
            let name = l
                .name
                .clone()
                .unwrap_or_else(|| short_function_name(&function));
            let limits = KindLimits {
                kind: "lambda",
                default_records: 100,
                max_records: 10_000,
                // Lambda's invocation payload limits: 6 MB synchronous, 1 MB asynchronous.
                default_bytes: if invocation == Invocation::Sync {
                    6 * MIB
                } else {
                    MIB
                },
                max_bytes: if invocation == Invocation::Sync {
                    6 * MIB
                } else {
                    MIB
                },
            };
            let kind = TargetKind::Lambda(LambdaTarget {
                function,
                qualifier,
                invocation,
                format: match l.format.unwrap_or(LambdaFormatConfig::Esm) {
                    LambdaFormatConfig::Esm => LambdaFormat::Esm,
                    LambdaFormatConfig::Record => LambdaFormat::Record,
                },
                endpoint_url: l.endpoint_url.clone(),
            });
            (name, kind, &l.delivery, limits)
        }
        TargetConfig::Eventbridge(e) => {
            check_bus(ctx, field, &e.bus);
            if e.source.is_empty() || e.source.len() > 256 {
                ctx.problem(
                    format!("{field}.source"),
                    "`source` must be 1–256 characters",
                );
            }
            let detail_type = match &e.detail_type {
                DetailTypeConfig::Constant(s) => {
                    if s.is_empty() || s.len() > 128 {
                        ctx.problem(
                            format!("{field}.detail_type"),
                            "a constant `detail_type` must be 1–128 characters",
                        );
                    }
                    DetailType::Constant(s.clone())
                }
                DetailTypeConfig::Path { path } => match JsonPath::parse(path) {
                    Ok(query) => DetailType::Path {
                        text: path.clone(),
                        query,
                    },
                    Err(err) => {
                        ctx.hinted(
                            format!("{field}.detail_type.path"),
                            format!("invalid JSONPath `{path}`: {err}"),
                            "e.g. `$.value.type`",
                        );
                        DetailType::Constant(String::new())
                    }
                },
            };
            for (i, r) in e.resources.iter().enumerate() {
                if !r.starts_with("arn:") {
                    ctx.problem(
                        format!("{field}.resources[{i}]"),
                        format!("`{r}` is not an ARN (resources are ARNs: `arn:...`)"),
                    );
                }
            }
            check_endpoint(ctx, field, &e.endpoint_url);
            let name = e.name.clone().unwrap_or_else(|| short_bus_name(&e.bus));
            let limits = KindLimits {
                kind: "eventbridge",
                // PutEvents takes at most 10 entries; the documented request size is 256 KB.
                default_records: 10,
                max_records: 10,
                default_bytes: 256 * 1024,
                max_bytes: MIB,
            };
            let kind = TargetKind::EventBridge(EventBridgeTarget {
                bus: e.bus.clone(),
                source: e.source.clone(),
                detail_type,
                detail: match e.detail.unwrap_or(DetailConfig::Value) {
                    DetailConfig::Value => Detail::Value,
                    DetailConfig::Envelope => Detail::Envelope,
                },
                resources: e.resources.clone(),
                endpoint_url: e.endpoint_url.clone(),
            });
            (name, kind, &e.delivery, limits)
        }
        TargetConfig::Custom(c) => {
            if c.kind.is_empty() {
                ctx.problem(format!("{field}.kind"), "`kind` must not be empty");
            }
            let limits = KindLimits {
                kind: "custom",
                default_records: 100,
                max_records: 10_000,
                default_bytes: 6 * MIB,
                max_bytes: 64 * MIB,
            };
            let kind = TargetKind::Custom(CustomTarget {
                kind: c.kind.clone(),
                settings: c.settings.clone(),
            });
            (c.name.clone(), kind, &c.delivery, limits)
        }
    };
    if !valid_name(&name) {
        ctx.hinted(
            format!("{field}.name"),
            format!("`{name}` is not a valid target name"),
            "use 1–128 characters from A–Z a–z 0–9 . _ -",
        );
    }
    let delivery = build_delivery(ctx, field, route_delivery, overrides, &limits);
    (ctx.problems.len() == before).then_some((name, kind, delivery))
}

/// Splits `function` into (function, qualifier) and checks both against Lambda's rules.
fn check_function(
    ctx: &mut Ctx,
    field: &str,
    function: &str,
    qualifier: &Option<String>,
) -> (String, Option<String>) {
    let f = format!("{field}.function");
    let hint = "use a name (`my-fn`), a partial ARN (`123456789012:function:my-fn`) or an ARN \
                (`arn:aws:lambda:us-east-1:123456789012:function:my-fn`), optionally `:alias`";
    let parts: Vec<&str> = function.split(':').collect();
    let (base_len, name_at) = if function.starts_with("arn:") {
        let ok = parts.len() >= 7
            && parts[1].starts_with("aws")
            && parts[2] == "lambda"
            && !parts[3].is_empty()
            && is_account(parts[4])
            && parts[5] == "function";
        if !ok {
            ctx.hinted(
                &f,
                format!("`{function}` is not a Lambda function ARN"),
                hint,
            );
            return (function.to_owned(), qualifier.clone());
        }
        (7, 6)
    } else if parts.len() >= 3 && parts[1] == "function" {
        if !is_account(parts[0]) {
            ctx.hinted(
                &f,
                format!("`{}` is not a 12-digit account id", parts[0]),
                hint,
            );
        }
        (3, 2)
    } else {
        (1, 0)
    };
    let name = parts[name_at];
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    {
        ctx.hinted(
            &f,
            format!("`{name}` is not a valid function name (1–64 of A–Z a–z 0–9 - _)"),
            hint,
        );
    }
    let inline = match parts.len() - base_len {
        0 => None,
        1 => Some(parts[base_len].to_owned()),
        _ => {
            ctx.hinted(&f, format!("`{function}` has too many `:` parts"), hint);
            None
        }
    };
    let qualifier = match (inline, qualifier) {
        (Some(_), Some(_)) => {
            ctx.problem(
                format!("{field}.qualifier"),
                "the qualifier is given twice: in `function` and in `qualifier`; keep one",
            );
            qualifier.clone()
        }
        (Some(q), None) => Some(q),
        (None, q) => q.clone(),
    };
    if let Some(q) = &qualifier {
        let ok = q == "$LATEST"
            || (!q.is_empty()
                && q.len() <= 128
                && q.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_')));
        if !ok {
            ctx.problem(
                format!("{field}.qualifier"),
                format!("`{q}` is not a version or alias (`$LATEST`, `7`, `live`)"),
            );
        }
    }
    (parts[..base_len].join(":"), qualifier)
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

fn short_function_name(function: &str) -> String {
    function.rsplit(':').next().unwrap_or(function).to_owned()
}

fn short_bus_name(bus: &str) -> String {
    bus.rsplit('/').next().unwrap_or(bus).to_owned()
}

fn check_bus(ctx: &mut Ctx, field: &str, bus: &str) {
    let f = format!("{field}.bus");
    let name = if bus.starts_with("arn:") {
        let parts: Vec<&str> = bus.splitn(6, ':').collect();
        let ok = parts.len() == 6
            && parts[2] == "events"
            && is_account(parts[4])
            && parts[5].starts_with("event-bus/");
        if !ok {
            ctx.hinted(
                &f,
                format!("`{bus}` is not an event bus ARN"),
                "e.g. `arn:aws:events:us-east-1:123456789012:event-bus/orders`",
            );
            return;
        }
        &parts[5]["event-bus/".len()..]
    } else {
        bus
    };
    let ok = !name.is_empty()
        && name.len() <= 256
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_'));
    if !ok {
        ctx.hinted(
            &f,
            format!("`{name}` is not a valid event bus name"),
            "bus names are 1–256 characters from A–Z a–z 0–9 / . - _",
        );
    }
}

fn check_endpoint(ctx: &mut Ctx, field: &str, url: &Option<String>) {
    if let Some(u) = url
        && !(u.starts_with("http://") || u.starts_with("https://"))
    {
        ctx.problem(
            format!("{field}.endpoint_url"),
            format!("`{u}` is not an http(s) URL"),
        );
    }
}
