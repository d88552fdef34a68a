#!/usr/bin/env bash
# Create a topic on the local tansu broker started by scripts/stack.sh.
#
# Usage: scripts/create-topic.sh NAME PARTITIONS
#
# Broker: $FANOUT_KAFKA_BOOTSTRAP (host:port) if set, else 127.0.0.1:$FANOUT_KAFKA_PORT (19092).
# Succeeds if the topic already exists with the same partition count; fails if the count differs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TANSU="$ROOT/.tools/bin/tansu"

die() { echo "create-topic: error: $*" >&2; exit 1; }

[[ $# -eq 2 ]] || { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
name="$1"
partitions="$2"
[[ "$partitions" =~ ^[1-9][0-9]*$ ]] || die "PARTITIONS must be a positive integer, got '$partitions'"
[[ -x "$TANSU" ]] || "$ROOT/scripts/install-tools.sh" tansu >/dev/null

broker="tcp://${FANOUT_KAFKA_BOOTSTRAP:-127.0.0.1:${FANOUT_KAFKA_PORT:-19092}}"

if out="$("$TANSU" topic create "$name" --broker "$broker" --partitions "$partitions" 2>&1)"; then
    echo "created topic '$name' ($partitions partitions) on $broker"
    exit 0
fi
if [[ "$out" != *"already exists"* ]]; then
    echo "$out" >&2
    die "could not create topic '$name' on $broker (is the broker running? scripts/stack.sh start tansu)"
fi

# The topic exists: accept it only if its partition count matches.
have="$("$TANSU" topic list --broker "$broker" | python3 -c '
import json, sys
name = sys.argv[1]
for t in json.load(sys.stdin):
    if t.get("name") == name:
        print(len(t.get("partitions") or []))
' "$name")"
if [[ "$have" == "$partitions" ]]; then
    echo "topic '$name' already exists ($partitions partitions) on $broker"
else
    die "topic '$name' already exists on $broker with ${have:-unknown} partitions, not $partitions"
fi
