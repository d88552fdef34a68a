//! The target implementations the `fanout` binary provides, by target kind.

use std::sync::Arc;

use fanout_engine::Target;
use fanout_engine::ledger::LedgerTarget;
use fanout_router::{RouteTable, TargetKind};

/// Builds the implementation of every target of the table; every problem is reported.
pub fn build_targets(table: &RouteTable) -> Result<Vec<Arc<dyn Target>>, Vec<String>> {
    let mut built = Vec::new();
    let mut errors = Vec::new();
    for t in table.targets() {
        let result: Result<Arc<dyn Target>, String> = match &t.kind {
            TargetKind::Custom(c) if c.kind == "ledger" => {
                LedgerTarget::from_settings(&t.qualified_name, &c.settings)
                    .map(|l| Arc::new(l) as _)
            }
            TargetKind::Custom(c) => Err(format!(
                "unknown custom target kind `{}` (this binary provides: ledger)",
                c.kind
            )),
            other => Err(format!(
                "{} targets are not available in this build yet",
                other.label()
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
