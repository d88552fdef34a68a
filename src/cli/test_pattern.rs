//! `fanout test-pattern`: match an EventBridge pattern against an event, as
//! `aws events test-event-pattern` does (the event is used as given, not wrapped in a record view).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use fanout_router::Pattern;
use serde_json::Value;

use super::{EXIT_USAGE, inline_or_file, parse_json};

/// Arguments of `fanout test-pattern`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("mode").required(true).args(["pattern", "cases"])))]
pub struct TestPatternArgs {
    /// The pattern: JSON text or `@file`.
    #[arg(long, requires = "event")]
    pattern: Option<String>,
    /// The event: JSON text or `@file`.
    #[arg(long, requires = "pattern")]
    event: Option<String>,
    /// A JSON-lines file of `{"pattern": …, "event": …}` cases; prints `true`, `false` or
    /// `error: <message>` per case, in order.
    #[arg(long, conflicts_with_all = ["pattern", "event"])]
    cases: Option<PathBuf>,
}

/// Runs the command.
pub fn run(args: &TestPatternArgs) -> anyhow::Result<ExitCode> {
    if let Some(cases) = &args.cases {
        return run_cases(cases);
    }
    let (Some(pattern), Some(event)) = (&args.pattern, &args.event) else {
        unreachable!("clap requires --pattern with --event");
    };
    let pattern = match Pattern::from_json_str(&inline_or_file(pattern)?) {
        Ok(p) => p,
        Err(err) => {
            eprintln!("error: invalid pattern:\n{err}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let event = parse_json("the event", &inline_or_file(event)?)?;
    println!("{}", pattern.matches(&event));
    Ok(ExitCode::SUCCESS)
}

fn run_cases(path: &PathBuf) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        match evaluate_case(line) {
            Ok(matched) => out.push_str(if matched { "true\n" } else { "false\n" }),
            Err(message) => {
                out.push_str("error: ");
                out.push_str(&message.replace('\n', "; "));
                out.push('\n');
            }
        }
    }
    print!("{out}");
    Ok(ExitCode::SUCCESS)
}

fn evaluate_case(line: &str) -> Result<bool, String> {
    let case: Value =
        serde_json::from_str(line).map_err(|e| format!("case is not valid JSON: {e}"))?;
    let pattern = case.get("pattern").ok_or("case has no `pattern`")?;
    let event = case.get("event").ok_or("case has no `event`")?;
    let pattern = match pattern {
        Value::String(text) => Pattern::from_json_str(text),
        other => Pattern::new(other),
    }
    .map_err(|e| format!("invalid pattern: {e}"))?;
    Ok(pattern.matches(event))
}
