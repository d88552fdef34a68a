//! The `fanout` command.

/// mimalloc: the engine allocates per record (the copied message, its parsed document) on one
/// thread and frees on another; glibc's malloc spent a third of the dispatcher's CPU there when
/// records still carried a `serde_json` view (`benches/e2e.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// Kafka fan-out router: consume once, match compiled routes, deliver to Lambda and EventBridge.
#[derive(Debug, Parser)]
#[command(name = "fanout", version, about)]
struct Args {
    /// Log format: `human` (default) or `json`.
    #[arg(long, global = true, default_value = "human", value_parser = ["human", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate route files and print route → filters → targets.
    Check(cli::check::CheckArgs),
    /// Match an EventBridge pattern against an event (or a file of cases).
    TestPattern(cli::test_pattern::TestPatternArgs),
    /// Run an RFC 9535 JSONPath query on a JSON document; prints the nodelist.
    Query(cli::query::QueryArgs),
    /// Dry run: which routes and targets each record of a JSON-lines file would go to.
    Route(cli::route::RouteArgs),
    /// Run the dispatcher: consume, route, deliver, commit.
    Run(cli::run::RunArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(&args.log_format);
    let result = match args.command {
        Command::Check(a) => cli::check::run(&a),
        Command::TestPattern(a) => cli::test_pattern::run(&a),
        Command::Query(a) => cli::query::run(&a),
        Command::Route(a) => cli::route::run(&a),
        Command::Run(a) => cli::run::run(&a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(cli::EXIT_USAGE)
        }
    }
}

/// Logs go to stderr; `RUST_LOG` filters (default `info`: lifecycle only).
fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
