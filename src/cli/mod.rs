//! Subcommands of the `fanout` command. Exit codes: 0 success, 2 bad input/config/usage,
//! 1 runtime failure.

use std::io::Read;

use anyhow::Context;

pub mod check;
pub mod query;
pub mod route;
pub mod run;
pub mod test_pattern;

/// Bad configuration, bad input or bad usage.
pub const EXIT_USAGE: u8 = 2;

/// Reads an argument that is either JSON text or `@file`.
pub fn inline_or_file(arg: &str) -> anyhow::Result<String> {
    match arg.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).with_context(|| format!("cannot read {path}")),
        None => Ok(arg.to_owned()),
    }
}

/// Reads a file, or standard input when `path` is `None` or `-`.
pub fn read_input(path: Option<&std::path::Path>) -> anyhow::Result<String> {
    match path {
        Some(p) if p.as_os_str() != "-" => {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
        }
        _ => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read standard input")?;
            Ok(text)
        }
    }
}

/// Parses JSON text, naming what it is and where the syntax error is.
pub fn parse_json(what: &str, text: &str) -> anyhow::Result<serde_json::Value> {
    serde_json::from_str(text).with_context(|| format!("{what} is not valid JSON"))
}
