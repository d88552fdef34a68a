//! `fanout run`: the dispatcher.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use fanout::routes_dir::load_routes_dir;
use fanout::targets::build_targets;
use std::time::Duration;

use fanout::telemetry::{install_recorder, serve};
use fanout_engine::{Engine, parse_config, preflight};

use super::EXIT_USAGE;

/// Arguments of `fanout run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The dispatcher configuration file.
    #[arg(long, default_value = "fanout.yaml")]
    config: PathBuf,
    /// Routes directory (default: the `routes` setting of the config file, relative to it).
    #[arg(long)]
    routes: Option<PathBuf>,
}

/// Runs the dispatcher until SIGTERM or Ctrl-C.
pub fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.config)
        .with_context(|| format!("cannot read {}", args.config.display()))?;
    let env = |name: &str| std::env::var(name).ok();
    let loaded = match parse_config(&args.config.display().to_string(), &text, &env) {
        Ok(c) => c,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let routes_dir = args.routes.clone().unwrap_or_else(|| {
        let base = args
            .config
            .parent()
            .unwrap_or_else(|| std::path::Path::new("."));
        base.join(&loaded.routes)
    });
    let table = match load_routes_dir(&routes_dir) {
        Ok(t) => Arc::new(t),
        Err(err) => {
            eprintln!("error: {err}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let bootstrap = loaded
        .engine
        .kafka
        .get("bootstrap.servers")
        .cloned()
        .unwrap_or_default();
    let targets = match runtime.block_on(build_targets(&table, &bootstrap)) {
        Ok(t) => t,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    if let Err(err) = preflight(&loaded.engine, &table.topics(), Duration::from_secs(10)) {
        eprintln!("error: {err}");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let recorder = match loaded.metrics_address {
        Some(_) => Some(install_recorder()?),
        None => None,
    };
    let engine = Engine::new(loaded.engine, table, |t| {
        targets.get(t.id.0 as usize).cloned()
    })?;
    if let (Some(address), Some(handle)) = (loaded.metrics_address, recorder) {
        let listener = match runtime.block_on(tokio::net::TcpListener::bind(address)) {
            Ok(l) => l,
            Err(err) => {
                eprintln!("error: cannot serve metrics on {address}: {err}");
                return Ok(ExitCode::from(EXIT_USAGE));
            }
        };
        let stats = engine.stats();
        runtime.spawn(async move {
            if let Err(err) = serve(listener, handle, stats).await {
                tracing::error!(error = %err, "metrics endpoint stopped");
            }
        });
    }
    match runtime.block_on(engine.run(shutdown_signal())) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(err) => {
            eprintln!("error: {err}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Completes on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown requested");
}
