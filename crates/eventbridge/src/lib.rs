//! fanout's Amazon EventBridge target: PutEvents with per-entry retry.
