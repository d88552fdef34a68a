#!/usr/bin/env bash
# fanout's demo: watch Kafka records fan out to Lambda functions and EventBridge buses.
#
# Usage: scripts/demo.sh
#
# What it does, on this machine only (nothing leaves it):
#  1. installs the local stand-ins (scripts/install-tools.sh: tansu, moto, cargo-lambda) and
#     builds the `fanout` binary, the demo programs (examples/demo_*.rs) and the demo Lambda
#     functions (tests/lambda-functions: fraud-check, telemetry-alerts, tenant-sync);
#  2. starts tansu (Kafka), moto (EventBridge + SQS) and cargo-lambda's Lambda API with the
#     function processes attached;
#  3. creates the topics orders, telemetry, tenant-events (4 partitions) and fanout-dlq, the
#     buses orders-audit and tenants with a rule → SQS queue each;
#  4. runs `fanout run --config scripts/demo/fanout.yaml` with the routes in routes/,
#     produces ~4,000 records in one burst (a few suspicious orders among the good ones, so
#     they share batches), and waits until every record is finished (polling /metrics);
#  5. prints part of /metrics, what the functions printed, and a summary table (per route and
#     target: delivered, retried, dead-lettered; events that reached each SQS queue; a DLQ
#     sample), then stops fanout with SIGTERM and everything else it started (also on failure
#     or Ctrl-C).
#
# Failing on purpose, so the DLQ path is visible:
#  - fraud-check rejects orders of 50,000 or more: it fails the whole invocation, which fanout
#    splits in halves until the order fails alone; that order alone is retried (4 attempts),
#    then dead-lettered as function_error / ManualReviewRequired, and the good orders that
#    shared its batch are delivered;
#  - about 1 % of the orders cannot become an audit event (no `status`, or a legacy CSV line
#    instead of JSON): dead-lettered at once as invalid_payload / DetailTypeNotFound;
#  - tenant-sync fails its first call (a cold cache): a whole batch, split in halves and sent
#    again at no cost of attempts, then delivered.
#
# Ports (override with env): FANOUT_DEMO_KAFKA_PORT (19192), FANOUT_DEMO_MOTO_PORT (19193),
# FANOUT_DEMO_LAMBDA_PORT (19194), FANOUT_DEMO_METRICS_PORT (19464). Logs: .tools/demo/.
# An existing CARGO_TARGET_DIR is honoured for the fanout build.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

KAFKA_PORT="${FANOUT_DEMO_KAFKA_PORT:-19192}"
MOTO_PORT="${FANOUT_DEMO_MOTO_PORT:-19193}"
LAMBDA_PORT="${FANOUT_DEMO_LAMBDA_PORT:-19194}"
METRICS_PORT="${FANOUT_DEMO_METRICS_PORT:-19464}"
RUN="$ROOT/.tools/demo"
VENV="$ROOT/.venv"
FUNCTIONS_PROJECT="$ROOT/tests/lambda-functions"
FUNCTIONS_TARGET="$ROOT/target/lambda-functions"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
[[ "$TARGET_DIR" == /* ]] || TARGET_DIR="$ROOT/$TARGET_DIR"

# Every order becomes an audit event on the bus; moto gets slower as its SQS queue fills, so
# orders are the smaller share.
ORDERS=800
TELEMETRY=2000
TENANT_EVENTS=1200
SUSPICIOUS=8

BOOTSTRAP="127.0.0.1:$KAFKA_PORT"
METRICS_URL="http://127.0.0.1:$METRICS_PORT"
STARTED=$SECONDS
BUSIEST=0
MAX_LAG=0

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
die() { echo "demo: error: $*" >&2; exit 1; }

# --- processes this run started: one process group each ----------------------------------
PIDS=()
NAMES=()

# start NAME LOG DIR CMD...: runs CMD in DIR as the leader of a new session/process group
# (so that stopping it ends whatever it spawned, and Ctrl-C reaches only this script).
start() {
    local name="$1" log="$2" dir="$3"
    shift 3
    (cd "$dir" && exec setsid "$@" >"$log" 2>&1 </dev/null) &
    PIDS+=("$!")
    NAMES+=("$name")
    echo "$!" >"$RUN/pids/$name.$!"
}

# Ends a process group: SIGTERM, then SIGKILL after 5 s.
stop_group() {
    local pid="$1" i
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    if ((${#PIDS[@]})); then
        step "stop everything the demo started"
        # Newest first: fanout, the functions, then the services.
        for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
            stop_group "${PIDS[i]}"
            wait "${PIDS[i]}" 2>/dev/null || true
            rm -f "$RUN/pids/${NAMES[i]}.${PIDS[i]}"
        done
        echo "stopped: ${NAMES[*]}"
    fi
    if ((rc != 0)); then
        echo "demo: failed (exit $rc); logs are in $RUN/" >&2
    fi
    exit "$rc"
}

# A previous run that was killed (SIGKILL) could not clean up: end its process groups, if
# they are still this demo's (their command line names this checkout).
stop_leftovers() {
    local f pid
    mkdir -p "$RUN/pids"
    for f in "$RUN"/pids/*; do
        [[ -e "$f" ]] || continue
        pid="$(<"$f")"
        if [[ "$pid" =~ ^[0-9]+$ && -r "/proc/$pid/cmdline" ]] \
            && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$ROOT"; then
            echo "stopping a leftover of an earlier demo run: $(basename "$f") (pid $pid)"
            stop_group "$pid"
        fi
        rm -f "$f"
    done
}

tcp_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1" 2>/dev/null || true; }

# wait_until NAME PID TIMEOUT CHECK...: polls CHECK until it succeeds; fails if the process
# exits or the timeout passes.
wait_until() {
    local name="$1" pid="$2" timeout="$3" deadline
    shift 3
    deadline=$((SECONDS + timeout))
    until "$@"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$RUN/$name.log" >&2 || true
            die "$name exited during start-up (log: $RUN/$name.log)"
        fi
        ((SECONDS < deadline)) || die "$name not ready after ${timeout}s (log: $RUN/$name.log)"
        sleep 0.2
    done
}

moto_ready() { [[ "$(http_code "http://127.0.0.1:$MOTO_PORT/moto-api/")" =~ ^[1-5] ]]; }
# GET on the invoke route answers 405 as soon as cargo-lambda serves.
lambda_ready() {
    [[ "$(http_code "http://127.0.0.1:$LAMBDA_PORT/2015-03-31/functions/_probe/invocations")" =~ ^[1-5] ]]
}
fanout_ready() { [[ "$(http_code "$METRICS_URL/readyz")" == 200 ]]; }

# Sum of a metric's samples in a scrape (stdin).
metric_sum() {
    awk -v n="$1" 'index($1, n "{") == 1 || $1 == n { s += $NF } END { printf "%d", s }'
}

# wait_finished EXPECTED: until fanout consumed EXPECTED records and none is in flight
# (in-flight is updated every commit tick, so it must stay 0 for a few polls).
wait_finished() {
    local expected="$1" deadline=$((SECONDS + 300)) zero=0 scrape consumed in_flight dead lag last=-1
    local next_line=0
    while :; do
        kill -0 "$FANOUT_PID" 2>/dev/null || die "fanout exited (log: $RUN/fanout.log)"
        ((SECONDS < deadline)) || die "not finished after 300s (log: $RUN/fanout.log)"
        scrape="$(curl -s --max-time 2 "$METRICS_URL/metrics" || true)"
        consumed="$(metric_sum fanout_records_consumed_total <<<"$scrape")"
        in_flight="$(metric_sum fanout_in_flight_records <<<"$scrape")"
        dead="$(metric_sum fanout_dead_lettered_total <<<"$scrape")"
        # Keep the busiest scrapes (most records in flight; largest lag) to show gauges from.
        if ((in_flight > BUSIEST)); then
            BUSIEST=$in_flight
            printf '%s\n' "$scrape" >"$RUN/metrics-busiest.txt"
        fi
        lag="$(metric_sum fanout_consumer_lag <<<"$scrape")"
        if ((lag > MAX_LAG)); then
            MAX_LAG=$lag
            printf '%s\n' "$scrape" >"$RUN/metrics-lag.txt"
        fi
        if ((consumed != last || SECONDS >= next_line)); then
            printf '  %4ds  consumed %5d / %d   in flight %5d   dead-lettered %3d\n' \
                "$((SECONDS - STARTED))" "$consumed" "$expected" "$in_flight" "$dead"
            last=$consumed
            next_line=$((SECONDS + 10))
        fi
        if ((consumed >= expected && in_flight == 0)); then
            zero=$((zero + 1))
            ((zero < 4)) || break
        else
            zero=0
        fi
        sleep 0.5
    done
    printf '  %4ds  consumed %5d / %d   in flight %5d   dead-lettered %3d   (all finished)\n' \
        "$((SECONDS - STARTED))" "$consumed" "$expected" "$in_flight" "$dead"
}

# --- prerequisites -------------------------------------------------------------------------
step "check prerequisites and install the local stand-ins"
[[ -d "${HOME:-/root}/.cargo/bin" ]] && export PATH="${HOME:-/root}/.cargo/bin:$PATH"
command -v cargo >/dev/null || die "cargo not found: install Rust first (https://rustup.rs)"
missing=()
for pair in gcc:gcc g++:g++ make:make pkg-config:pkg-config curl:curl unzip:unzip setsid:util-linux; do
    command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
[[ -f /usr/include/zlib.h ]] || missing+=(zlib1g-dev)
if [[ ! -x "$VENV/bin/python" ]]; then
    probe="$(mktemp -d)"
    python3 -m venv "$probe/v" >/dev/null 2>&1 || missing+=(python3 python3-venv)
    rm -rf "$probe"
fi
if ((${#missing[@]})); then
    if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
        echo "installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
    else
        die "missing system packages: ${missing[*]} (e.g. sudo apt-get install ${missing[*]})"
    fi
fi
scripts/install-tools.sh all

mkdir -p "$RUN"
stop_leftovers
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for port in "$KAFKA_PORT" "$MOTO_PORT" "$LAMBDA_PORT" "$METRICS_PORT"; do
    if tcp_open "$port"; then
        die "port 127.0.0.1:$port is in use (set FANOUT_DEMO_{KAFKA,MOTO,LAMBDA,METRICS}_PORT)"
    fi
done
rm -f "$RUN"/*.log "$RUN"/*.txt

# --- build ---------------------------------------------------------------------------------
step "build fanout, the demo programs and the demo Lambda functions (debug)"
cargo build --bin fanout --example demo_produce --example demo_summary
(cd "$FUNCTIONS_PROJECT" && CARGO_TARGET_DIR="$FUNCTIONS_TARGET" cargo build \
    --bin fraud-check --bin telemetry-alerts --bin tenant-sync)
FANOUT="$TARGET_DIR/debug/fanout"
PRODUCE="$TARGET_DIR/debug/examples/demo_produce"
SUMMARY="$TARGET_DIR/debug/examples/demo_summary"
for bin in "$FANOUT" "$PRODUCE" "$SUMMARY"; do
    [[ -x "$bin" ]] || die "$bin was not built"
done

# --- environment for fanout and the demo programs --------------------------------------------
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL_LAMBDA="http://127.0.0.1:$LAMBDA_PORT"
export AWS_ENDPOINT_URL_EVENTBRIDGE="http://127.0.0.1:$MOTO_PORT"
export AWS_ENDPOINT_URL_SQS="http://127.0.0.1:$MOTO_PORT"
export DEMO_KAFKA_BOOTSTRAP="$BOOTSTRAP" DEMO_METRICS_ADDRESS="127.0.0.1:$METRICS_PORT"
# The local emulators resolve plain names only (not ARNs or name:qualifier).
export FRAUD_FUNCTION=fraud-check AUDIT_BUS=orders-audit ALERTS_FUNCTION=telemetry-alerts
export TENANT_SYNC_FUNCTION=tenant-sync TENANTS_BUS=tenants

# --- services ------------------------------------------------------------------------------
step "start tansu (Kafka) :$KAFKA_PORT, moto (EventBridge + SQS) :$MOTO_PORT, cargo-lambda :$LAMBDA_PORT"
start tansu "$RUN/tansu.log" "$ROOT" "$ROOT/.tools/bin/tansu" broker \
    --listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --advertised-listener-url "tcp://127.0.0.1:$KAFKA_PORT" \
    --storage-engine "memory://tansu/"
TANSU_PID=$!
start moto "$RUN/moto.log" "$ROOT" "$VENV/bin/python" "$VENV/bin/moto_server" \
    -H 127.0.0.1 -p "$MOTO_PORT"
MOTO_PID=$!
# cargo-lambda serves the bins of the project it runs in (--only-lambda-apis: no building).
start cargo-lambda "$RUN/cargo-lambda.log" "$FUNCTIONS_PROJECT" \
    env CARGO_TARGET_DIR="$FUNCTIONS_TARGET" "$VENV/bin/cargo-lambda" lambda watch \
    --only-lambda-apis -A 127.0.0.1 -P "$LAMBDA_PORT"
LAMBDA_PID=$!
wait_until tansu "$TANSU_PID" 30 tcp_open "$KAFKA_PORT"
wait_until moto "$MOTO_PID" 30 moto_ready
wait_until cargo-lambda "$LAMBDA_PID" 120 lambda_ready
echo "services ready"

step "start the Lambda function processes"
for spec in fraud-check:2 telemetry-alerts:2 tenant-sync:1; do
    name="${spec%%:*}"
    for ((n = 1; n <= ${spec##*:}; n++)); do
        start "$name-$n" "$RUN/$name-$n.log" "$ROOT" env \
            AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$LAMBDA_PORT/.rt/$name" \
            AWS_LAMBDA_FUNCTION_NAME="$name" AWS_LAMBDA_FUNCTION_VERSION=1 \
            AWS_LAMBDA_FUNCTION_MEMORY_SIZE=512 \
            "$FUNCTIONS_TARGET/debug/$name"
    done
    echo "$name: ${spec##*:} process(es)"
done

step "create topics, buses, rules and queues"
"$PRODUCE" --bootstrap "$BOOTSTRAP" setup --partitions 4 --dlq fanout-dlq

# --- fanout --------------------------------------------------------------------------------
step "fanout run --config scripts/demo/fanout.yaml   (routes: routes/, metrics: $METRICS_URL)"
start fanout "$RUN/fanout.log" "$ROOT" "$FANOUT" run --config scripts/demo/fanout.yaml
FANOUT_PID=$!
wait_until fanout "$FANOUT_PID" 60 fanout_ready
echo "fanout is consuming (pid $FANOUT_PID, log $RUN/fanout.log)"

step "produce records ($SUSPICIOUS suspicious orders among the orders: the fraud function rejects them)"
"$PRODUCE" --bootstrap "$BOOTSTRAP" produce --orders "$ORDERS" --suspicious "$SUSPICIOUS" \
    --telemetry "$TELEMETRY" --tenant-events "$TENANT_EVENTS"
TOTAL=$((ORDERS + SUSPICIOUS + TELEMETRY + TENANT_EVENTS))
wait_finished "$TOTAL"

# --- results -------------------------------------------------------------------------------
curl -s "$METRICS_URL/metrics" >"$RUN/metrics.txt"
step "curl -s $METRICS_URL/metrics   (some non-zero lines; gauges from the busiest moments)"
show_metrics() { # FILE FAMILY...
    local file="$1" family
    shift
    [[ -s "$file" ]] || file="$RUN/metrics.txt"
    for family in "$@"; do
        grep -E "^fanout_${family}[{ ]" "$file" | awk '$NF != 0' | head -n 2 || true
    done
}
show_metrics "$RUN/metrics.txt" records_consumed_total records_matched_total deliveries_total \
    retries_total dead_lettered_total
show_metrics "$RUN/metrics-busiest.txt" in_flight_records committed_offset
show_metrics "$RUN/metrics-lag.txt" consumer_lag
echo "(scrapes saved in $RUN/metrics*.txt; also served: /healthz, /readyz)"

step "what the functions printed (first lines of each; logs in $RUN/)"
for name in fraud-check telemetry-alerts tenant-sync; do
    cat "$RUN/$name"-*.log | grep -E "^$name call" | sort -t' ' -k3,3n | head -n 3 || true
done
# An invocation carrying a rejected order fails as a whole and is split in halves until the
# order is alone; alone it is tried 4 times (route retry.max_attempts), then dead-lettered.
grep -h "REJECTED" "$RUN"/fraud-check-*.log | head -n 3 || true

step "summary"
"$SUMMARY" --metrics "$RUN/metrics.txt" --bootstrap "$BOOTSTRAP" --dlq fanout-dlq \
    --produced "orders=$((ORDERS + SUSPICIOUS))" --produced "telemetry=$TELEMETRY" \
    --produced "tenant-events=$TENANT_EVENTS" \
    --queue "order-audit/audit-bus=orders-audit-queue" \
    --queue "enterprise-tenant-events/tenant-bus=tenants-queue" \
    --dead-lettered "order-fraud-check/fraud-check=$SUSPICIOUS"

step "stop fanout (SIGTERM)"
kill -TERM "$FANOUT_PID"
rc=0
wait "$FANOUT_PID" || rc=$?
echo "fanout exited with status $rc"
((rc == 0)) || die "fanout did not stop cleanly (log: $RUN/fanout.log)"
echo "demo finished in $((SECONDS - STARTED))s"
