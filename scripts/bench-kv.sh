#!/usr/bin/env bash
# The key-value store's benchmarks (issue 6), side by side with etcd 3.4 in
# one run. Starts a 3-member replog cluster on 127.0.0.1:7301-7303
# (PORT_BASE + 1..3) with default settings and data under $WORK (as
# bench-cluster.sh does), then,
# RUNS times: replog-bench kv-put at each of CLIENTS (256-byte values over
# KEYS random keys, exactly-once as the client's default), kv-get at
# GET_CLIENTS (KEYS keys put first, LINEARIZABLE reads at the KV leader, as
# etcd's reads below all go to its leader; READ_FROM=any spreads them over
# the members; LOCAL_GETS=1 adds a LOCAL run, spread), then etcd's writes at
# the same concurrencies and its linearizable reads at 16 clients over
# 10,000 keys (../shared/tools/etcd-bench.sh with READS=1, same disk, its
# load generator given the leader's endpoint only). Every result is a JSON
# line in $OUT; a table of medians ends the run. Knobs (environment):
# BUILD, WORK, PORT_BASE, RUNS, CLIENTS, GET_CLIENTS, KEYS, DURATION,
# READ_FROM, LOCAL_GETS, ETCD_BENCH (path; skipped if missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
WORK=${WORK:-data/bench-kv}
PORT_BASE=${PORT_BASE:-7300}
RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-"1 16 64"}
GET_CLIENTS=${GET_CLIENTS:-16}
KEYS=${KEYS:-10000}
DURATION=${DURATION:-10}
LOCAL_GETS=${LOCAL_GETS:-0}
READ_FROM=${READ_FROM:-leader}
ETCD_BENCH=${ETCD_BENCH:-$root/../shared/tools/etcd-bench.sh}
ETCD_WORK=${ETCD_WORK:-/tmp/replog-etcd-bench}  # etcd-bench.sh reads WORK too
OUT=${OUT:-$WORK/results.jsonl}
log() { echo "[bench-kv $(date +%H:%M:%S)] $*" >&2; }

source "$root/scripts/bench_lib.sh"
fresh_kv() {
  stop_all; rm -rf "$WORK"/m*; mkdir -p "$WORK"
  for id in 1 2 3; do start "$id"; done
  wait_kv_leader
}

mkdir -p "$WORK"
: >"$OUT"
log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$RUNS"); do
  fresh_kv
  for c in $CLIENTS; do
    record "replog kv put C=$c" kv-put --addrs "$addrs" --clients "$c" --record-size 256 --keys "$KEYS" \
      --seconds "$DURATION" --warmup-seconds 1
  done
  for c in $GET_CLIENTS; do
    record "replog kv get linearizable C=$c" kv-get --addrs "$addrs" --clients "$c" --record-size 256 \
      --keys "$KEYS" --seconds "$DURATION" --warmup-seconds 1 --read-from "$READ_FROM"
    if [ "$LOCAL_GETS" = 1 ]; then
      record "replog kv get local C=$c" kv-get --addrs "$addrs" --clients "$c" --record-size 256 \
        --keys "$KEYS" --seconds "$DURATION" --warmup-seconds 1 --local
    fi
  done
  stop_all
  if [ -x "$ETCD_BENCH" ]; then
    WORK=$ETCD_WORK CLIENTS="$CLIENTS" DURATION="${DURATION}s" READS=1 "$ETCD_BENCH" 2>>"$WORK/etcd-bench.log" >>"$OUT"
    tail -n 4 "$OUT" >&2
  else
    log "no $ETCD_BENCH: etcd skipped"
  fi
done
stop_all

python3 "$root/scripts/bench_table.py" "$OUT" "ops/s=ops_per_s|tput:0" "p50 ms=p50_ms:2" "p99 ms=p99_ms:2" "max ms=max_ms:2" "errors=errors:0"
