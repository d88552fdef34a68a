//! `fanout query`: run an RFC 9535 JSONPath query and print the nodelist as one JSON array.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use fanout_router::jsonpath;

use super::{EXIT_USAGE, parse_json, read_input};

/// Arguments of `fanout query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The JSONPath query, e.g. `$.store.book[?@.price < 10].title`.
    path: String,
    /// The JSON document (default: standard input).
    #[arg(long)]
    input: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: &QueryArgs) -> anyhow::Result<ExitCode> {
    let document = parse_json("the input", &read_input(args.input.as_deref())?)?;
    match jsonpath::query(&args.path, &document) {
        Ok(nodes) => {
            println!("{nodes}");
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            eprintln!("error: {err}");
            Ok(ExitCode::from(EXIT_USAGE))
        }
    }
}
