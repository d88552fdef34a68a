//! `fanout check`: validate route files and print route → filters → targets.

use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use fanout::routes_dir::{RoutesDirError, load_routes_dir, route_files};
use fanout_router::{
    DeliverySettings, Detail, DetailType, Filter, Invocation, LambdaFormat, OnFailure, Ordering,
    RouteTable, Target, TargetKind,
};

use super::EXIT_USAGE;

/// Arguments of `fanout check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Directory of route files.
    #[arg(long, default_value = "routes")]
    routes: PathBuf,
}

/// Runs the command.
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    match load_routes_dir(&args.routes) {
        Ok(table) => {
            // The table loaded, so the directory lists.
            let files = route_files(&args.routes).map_or(0, |files| files.len());
            let mut out = BufWriter::new(io::stdout().lock());
            match render(&mut out, &table, files).and_then(|()| out.flush()) {
                Ok(()) => {}
                // A reader that stopped early (`fanout check | head`) is not an error.
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                Err(e) => return Err(e.into()),
            }
            for warning in pattern_warnings(&table) {
                eprintln!("warning: {warning}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(RoutesDirError::Invalid(errors)) => {
            for e in &errors.0 {
                eprintln!("error: {e}");
            }
            eprintln!("{} error(s) in {}", errors.0.len(), args.routes.display());
            Ok(ExitCode::from(EXIT_USAGE))
        }
        Err(err) => {
            eprintln!("error: {err}");
            Ok(ExitCode::from(EXIT_USAGE))
        }
    }
}

/// Writes the route table as text to `out`, route by route: one block per route, then how
/// many routes and targets were loaded from how many `files`, and the topics.
pub fn render(out: &mut impl Write, table: &RouteTable, files: usize) -> io::Result<()> {
    for route in table.routes() {
        writeln!(out, "route {}  ({})", route.name, route.origin)?;
        writeln!(out, "  topics:  {}", route.topics.join(", "))?;
        if route.filters.is_empty() {
            writeln!(out, "  filters: (none: every record)")?;
        }
        for (i, filter) in route.filters.iter().enumerate() {
            let label = if i == 0 { "filters:" } else { "      or" };
            writeln!(out, "  {label} {filter}")?;
        }
        for (i, target) in table.route_targets(route.id).enumerate() {
            let label = if i == 0 { "targets:" } else { "        " };
            writeln!(out, "  {label} {}", describe_target(target))?;
        }
    }
    writeln!(
        out,
        "{}, {} loaded from {}; topics: {}",
        counted(table.routes().len(), "route"),
        counted(table.targets().len(), "target"),
        counted(files, "file"),
        table.topics().join(", ")
    )
}

/// What the route table's patterns accept but would better say otherwise (a `cidr` with host
/// bits set), one line each, naming the route and where in its pattern.
pub fn pattern_warnings(table: &RouteTable) -> Vec<String> {
    let mut out = Vec::new();
    for route in table.routes() {
        for filter in &route.filters {
            if let Filter::Pattern { pattern, .. } = filter {
                for warning in pattern.warnings() {
                    out.push(format!(
                        "route {} ({}): {warning}",
                        route.name, route.origin
                    ));
                }
            }
        }
    }
    out
}

/// `1 route`, `3 routes`.
fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn describe_target(target: &Target) -> String {
    let what = match &target.kind {
        TargetKind::Lambda(l) => {
            let qualifier = l
                .qualifier
                .as_deref()
                .map(|q| format!(":{q}"))
                .unwrap_or_default();
            let invocation = match l.invocation {
                Invocation::Sync => "sync",
                Invocation::Async => "async",
            };
            let format = match l.format {
                LambdaFormat::Esm => "esm",
                LambdaFormat::Record => "record",
            };
            format!("lambda {}{qualifier} ({invocation}, {format})", l.function)
        }
        TargetKind::EventBridge(e) => {
            let detail_type = match &e.detail_type {
                DetailType::Constant(s) => s.clone(),
                DetailType::Path { text, .. } => text.clone(),
            };
            let detail = match e.detail {
                Detail::Value => "value",
                Detail::Envelope => "envelope",
            };
            format!(
                "eventbridge {} (source {}, detail-type {detail_type}, detail {detail})",
                e.bus, e.source
            )
        }
        TargetKind::Custom(c) => format!("custom {}", c.kind),
    };
    format!(
        "{} → {what} [{}]",
        target.name,
        describe_delivery(&target.delivery)
    )
}

fn describe_delivery(d: &DeliverySettings) -> String {
    let ordering = match d.ordering {
        Ordering::Partition => "partition order".to_owned(),
        Ordering::Key => format!("key order, {} in flight", d.concurrency),
        Ordering::None => format!("unordered, {} in flight", d.concurrency),
    };
    let on_failure = match d.on_failure {
        OnFailure::Dlq => "then dlq",
        OnFailure::Block => "then block",
    };
    format!(
        "{ordering}; batch ≤{} records/{}/{:?}; {} attempts {on_failure}",
        d.batch.max_records,
        size(d.batch.max_bytes.get()),
        d.batch.max_wait,
        d.retry.max_attempts
    )
}

fn size(bytes: usize) -> String {
    const KIB: usize = 1024;
    match bytes {
        b if b % (KIB * KIB) == 0 => format!("{}MiB", b / (KIB * KIB)),
        b if b % KIB == 0 => format!("{}KiB", b / KIB),
        b => format!("{b}B"),
    }
}

#[cfg(test)]
mod tests {
    use fanout_router::RouteTable;
    use fanout_router::config::RouteConfig;

    use super::pattern_warnings;

    #[test]
    fn host_bit_cidrs_are_warned_about_with_the_network() {
        let route: RouteConfig = serde_json::from_value(serde_json::json!({
            "name": "vpn", "topics": ["flows"],
            "filters": [{"pattern": {"value": {"ip": [{"cidr": "10.0.0.5/24"}]}}}],
            "targets": [{"lambda": {"function": "f"}}],
        }))
        .unwrap();
        let mut builder = RouteTable::builder();
        builder.add_route(&route);
        let warnings = pattern_warnings(&builder.build().unwrap());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("route vpn (")
                && warnings[0].ends_with(r#"at $.value.ip[0].cidr: "10.0.0.5/24" has host bits set after the prefix and matches the network "10.0.0.0/24"; write "10.0.0.0/24" to say so"#),
            "{}",
            warnings[0]
        );
    }
}
