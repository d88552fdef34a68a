//! The target implementations the `fanout` binary provides, by target kind: `lambda`,
//! `eventbridge`, and the `custom` kind `ledger`.

use std::sync::Arc;

use fanout_engine::Target;
use fanout_engine::ledger::LedgerTarget;
use fanout_eventbridge::EventBridgeTargets;
use fanout_lambda::LambdaTargets;
use fanout_router::{RouteTable, TargetKind};

/// Builds the implementation of every target of the table, in target-id order; every problem
/// is reported. AWS clients are created only for the kinds the table uses, once each.
/// `bootstrap_servers` goes into Lambda's ESM events (`bootstrapServers`).
pub async fn build_targets(
    table: &RouteTable,
    bootstrap_servers: &str,
) -> Result<Vec<Arc<dyn Target>>, Vec<String>> {
    let uses = |f: fn(&TargetKind) -> bool| table.targets().iter().any(|t| f(&t.kind));
    let mut lambdas = if uses(|k| matches!(k, TargetKind::Lambda(_))) {
        let mut l = LambdaTargets::from_env().await;
        l.set_bootstrap_servers(bootstrap_servers);
        Some(l)
    } else {
        None
    };
    let mut buses = if uses(|k| matches!(k, TargetKind::EventBridge(_))) {
        Some(EventBridgeTargets::from_env().await)
    } else {
        None
    };
    let mut built = Vec::new();
    let mut errors = Vec::new();
    for t in table.targets() {
        let result: Result<Arc<dyn Target>, String> = match &t.kind {
            TargetKind::Lambda(_) => lambdas
                .as_mut()
                .map_or_else(|| unreachable_factory(), |f| f.target(t)),
            TargetKind::EventBridge(_) => buses
                .as_mut()
                .map_or_else(|| unreachable_factory(), |f| f.target(t)),
            TargetKind::Custom(c) if c.kind == "ledger" => {
                LedgerTarget::from_settings(&t.qualified_name, &c.settings)
                    .map(|l| Arc::new(l) as _)
            }
            TargetKind::Custom(c) => Err(format!(
                "unknown custom target kind `{}` (this binary provides: ledger)",
                c.kind
            )),
        };
        match result {
            Ok(target) => built.push(target),
            Err(e) => errors.push(format!("target {}: {e}", t.qualified_name)),
        }
    }
    if errors.is_empty() {
        Ok(built)
    } else {
        Err(errors)
    }
}

fn unreachable_factory() -> Result<Arc<dyn Target>, String> {
    Err("internal error: no client was built for this target kind".into())
}
