//! Writes a directory of generated route files for measuring route loading:
//!
//! ```text
//! cargo run --release -p fanout-router --example gen_routes -- DIR MB [yaml|json|compact-json] [ROUTES_PER_FILE]
//! /usr/bin/time -v target/release/fanout check --routes DIR > /dev/null
//! ```
//!
//! About `MB` megabytes in files of 1,000 routes (~1.8 MB of YAML) unless `ROUTES_PER_FILE`
//! says otherwise, named `routes-NNN.<ext>`.

use std::path::PathBuf;

use fanout_router::config::{GeneratedFormat, generated_route_file};

const DEFAULT_ROUTES_PER_FILE: usize = 1_000;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: gen_routes DIR MB [yaml|json|compact-json] [ROUTES_PER_FILE]";
    let (Some(dir), Some(mb)) = (
        args.first(),
        args.get(1).and_then(|m| m.parse::<f64>().ok()),
    ) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let format = match args.get(2).map(String::as_str).unwrap_or("yaml") {
        "yaml" => GeneratedFormat::Yaml,
        "json" => GeneratedFormat::Json,
        "compact-json" => GeneratedFormat::CompactJson,
        other => {
            eprintln!("unknown format `{other}`; {usage}");
            std::process::exit(2);
        }
    };
    let per_file = match args.get(3).map(|n| n.parse::<usize>()) {
        None => DEFAULT_ROUTES_PER_FILE,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("ROUTES_PER_FILE must be a positive number; {usage}");
            std::process::exit(2);
        }
    };
    let dir = PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("create the directory");
    // Bytes a route takes in this format, from a sample.
    let per_route = generated_route_file(format, 0, 50).len() / 50;
    let total = ((mb * 1e6) as usize).div_ceil(per_route).max(1);
    let (mut bytes, mut routes, mut files) = (0, 0, 0);
    while routes < total {
        let count = per_file.min(total - routes);
        let text = generated_route_file(format, routes, count);
        let path = dir.join(format!("routes-{files:03}.{}", format.extension()));
        std::fs::write(&path, &text).expect("write a route file");
        bytes += text.len();
        routes += count;
        files += 1;
    }
    println!(
        "{} bytes ({:.1} MB), {routes} routes, {} targets, {files} files in {}",
        bytes,
        bytes as f64 / 1e6,
        routes * 2,
        dir.display()
    );
}
