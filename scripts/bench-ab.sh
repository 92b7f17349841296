#!/usr/bin/env bash
# A/B runs of replog-bench produce on one local 3-member cluster
# (127.0.0.1:7601-7603, data under $WORK): each round runs every variant
# once, in the order given, so that the machine's drift falls on all of
# them alike; a table of medians ends the run, and every run is a JSON line
# in $OUT. A variant is "LABEL|FLAGS", the flags added to
#   replog-bench produce --addrs ... --record-size 256 --batch 1 --warmup-seconds 1
# Example (the pipelined and the unary produce path, 64 producers):
#   ROUNDS=5 scripts/bench-ab.sh "stream|--clients 64 --seconds 10" \
#     "unary|--clients 64 --seconds 10 --unary"
# Knobs (environment): BUILD, WORK, OUT, ROUNDS (default 3).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ $# -gt 0 ] || { echo "usage: $0 'LABEL|FLAGS'..." >&2; exit 2; }
BUILD=${BUILD:-build}
WORK=${WORK:-data/bench-ab}
OUT=${OUT:-$WORK/results.jsonl}
ROUNDS=${ROUNDS:-3}
PORT_BASE=7600
log() { echo "[bench-ab $(date +%H:%M:%S)] $*" >&2; }

source "$root/scripts/bench_lib.sh"

mkdir -p "$WORK"
: >"$OUT"
log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
fresh
for round in $(seq "$ROUNDS"); do
  for variant in "$@"; do
    label=${variant%%|*}
    read -r -a flags <<<"${variant#*|}"
    record "$label" produce --addrs "$addrs" --record-size 256 --batch 1 --warmup-seconds 1 "${flags[@]}"
  done
done
stop_all
python3 "$root/scripts/bench_table.py" "$OUT" "ops/s=ops_per_s:0" "p50 ms=p50_ms:2" "p99 ms=p99_ms:2"
