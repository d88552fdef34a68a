//! Table tests for EventBridge patterns, in the style of quamina's: every
//! case names the documented rule (or the recorded choice) it checks.

mod arrays;
mod invalid;
mod operators;
mod properties;
mod structure;

use serde_json::Value;

use super::Pattern;

/// `(rule, pattern, event, expected)`: patterns and events as JSON text.
pub(super) type MatchCase = (&'static str, &'static str, &'static str, bool);

fn json(text: &str, what: &str, rule: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("[{rule}] {what} is not JSON: {e}"))
}

/// Runs a table and reports every failing case, not just the first.
pub(super) fn check_matches(cases: &[MatchCase]) {
    let mut failures = Vec::new();
    for &(rule, pattern, event, expected) in cases {
        let compiled = match Pattern::new(&json(pattern, "pattern", rule)) {
            Ok(compiled) => compiled,
            Err(err) => {
                failures.push(format!("[{rule}] pattern {pattern} rejected:\n{err}"));
                continue;
            }
        };
        let actual = compiled.matches(&json(event, "event", rule));
        if actual != expected {
            failures.push(format!(
                "[{rule}] pattern {pattern}\n  event {event}\n  expected {expected}, got {actual}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `(rule, pattern, path of a reported problem, part of its message)`.
pub(super) type InvalidCase = (&'static str, &'static str, &'static str, &'static str);

/// Checks that each pattern is rejected with a problem at the given path
/// whose message contains the given text.
pub(super) fn check_invalid(cases: &[InvalidCase]) {
    let mut failures = Vec::new();
    for &(rule, pattern, path, fragment) in cases {
        match Pattern::new(&json(pattern, "pattern", rule)) {
            Ok(_) => failures.push(format!("[{rule}] pattern {pattern} was accepted")),
            Err(err) => {
                let found = err
                    .problems
                    .iter()
                    .any(|p| p.path == path && p.message.contains(fragment));
                if !found {
                    failures.push(format!(
                        "[{rule}] pattern {pattern}\n  expected a problem at {path} containing {fragment:?}, got:\n{err}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Counts the cases of every table, so the suite's size is visible.
#[test]
fn table_sizes() {
    let total = operators::CASES_COUNT
        + structure::CASES_COUNT
        + arrays::CASES_COUNT
        + invalid::CASES_COUNT;
    assert!(total > 200, "only {total} table cases");
}
