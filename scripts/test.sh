#!/usr/bin/env bash
# fanout's test command: format check, clippy, and the whole test suite against the local stack.
#
# Usage: scripts/test.sh [extra args for `cargo test`]     e.g. scripts/test.sh -- --nocapture
#
# Installs the stand-ins (scripts/install-tools.sh), starts tansu, moto and cargo-lambda
# (scripts/stack.sh; stopped again on exit, including on failure or Ctrl-C), exports their
# endpoints (see `scripts/stack.sh env`), then runs:
#   cargo fmt --all -- --check
#   cargo clippy --workspace --all-targets -- -D warnings
#   cargo test --workspace "$@"
# An existing CARGO_TARGET_DIR is honoured; ports follow FANOUT_{KAFKA,MOTO,LAMBDA}_PORT.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n==> %s\n' "$*"; }

step "install tools"
scripts/install-tools.sh all

cleanup() {
    step "stop local stack"
    scripts/stack.sh stop all || true
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "start local stack"
scripts/stack.sh start all
eval "$(scripts/stack.sh env)"

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace $*"
cargo test --workspace "$@"
