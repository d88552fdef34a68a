//! `fanout check`: validate route files and print route → filters → targets.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use fanout::routes_dir::{RoutesDirError, load_routes_dir};
use fanout_router::{
    DeliverySettings, Detail, DetailType, Invocation, LambdaFormat, OnFailure, Ordering,
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
            print!("{}", render(&table));
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

/// The route table as text: one block per route.
pub fn render(table: &RouteTable) -> String {
    let mut out = String::new();
    for route in table.routes() {
        let _ = writeln!(out, "route {}  ({})", route.name, route.origin);
        let _ = writeln!(out, "  topics:  {}", route.topics.join(", "));
        if route.filters.is_empty() {
            let _ = writeln!(out, "  filters: (none: every record)");
        }
        for (i, filter) in route.filters.iter().enumerate() {
            let label = if i == 0 { "filters:" } else { "      or" };
            let _ = writeln!(out, "  {label} {filter}");
        }
        for (i, target) in table.route_targets(route.id).enumerate() {
            let label = if i == 0 { "targets:" } else { "        " };
            let _ = writeln!(out, "  {label} {}", describe_target(target));
        }
    }
    let _ = writeln!(
        out,
        "{} route(s), {} target(s); topics: {}",
        table.routes().len(),
        table.targets().len(),
        table.topics().join(", ")
    );
    out
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
