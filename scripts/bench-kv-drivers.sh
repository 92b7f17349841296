#!/usr/bin/env bash
# The two drivers of replog-bench kv-put (64 clients) and kv-get
# (LINEARIZABLE, 16 clients): a thread per client (--sync) against the
# asynchronous calls, alternating, RUNS times each, on one fresh local
# 3-member cluster on PORT_BASE + 1..3 (the ports must be free; the members
# are checked alive after every run). Per run one line in $OUT: the load,
# the benchmark process's CPU seconds (whole process, /usr/bin/time, and
# from the start of its closed loops, /proc/PID/stat), its context switches
# (whole process) and its JSON line. Knobs (environment): BUILD, WORK,
# PORT_BASE, RUNS, DURATION, KEYS, OUT.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
WORK=${WORK:-data/bench-kv-drivers}
PORT_BASE=${PORT_BASE:-7900}
RUNS=${RUNS:-2}
DURATION=${DURATION:-10}
KEYS=${KEYS:-10000}
OUT=${OUT:-$WORK/results.txt}
log() { echo "[drivers $(date +%H:%M:%S)] $*" >&2; }
source "$root/scripts/bench_lib.sh"
# CPU seconds (user+system) of process $1 from /proc.
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
run() {  # run LABEL ARG...: the whole process's CPU (/usr/bin/time) and that of its closed loops alone
  local label=$1; shift
  local load; load=$(cut -d' ' -f1-3 /proc/loadavg)
  local err=$WORK/bench.err outf=$WORK/bench.out timef=$WORK/bench.time
  /usr/bin/time -f 'user=%U sys=%S wall=%e ctxsw_vol=%w ctxsw_invol=%c' -o "$timef" "$bench" "$@" >"$outf" 2>"$err" &
  local tpid=$! bpid="" at_loops=""
  while kill -0 "$tpid" 2>/dev/null; do
    [ -z "$bpid" ] && bpid=$(pgrep -P "$tpid" || true)
    if [ -n "$bpid" ] && [ -z "$at_loops" ] && grep -q 'clients over' "$err"; then at_loops=$(cpu_of "$bpid"); fi
    sleep 0.05
  done
  wait "$tpid" || { log "$label failed"; cat "$err" >&2; return 0; }
  local total; total=$(awk '{split($1,u,"="); split($2,s,"="); printf "%.2f", u[2] + s[2]}' "$timef")
  local loops; loops=$(awk -v t="$total" -v a="${at_loops:-0}" 'BEGIN{printf "%.2f", t - a}')
  mine_alive
  echo "$label | load $load | cpu total=$total before-loops=${at_loops:-?} loops=$loops | $(cat "$timef") | $(grep '^{' "$outf")" | tee -a "$OUT" >&2
}
mkdir -p "$WORK"; : >"$OUT"
# Our own members only: the ports must be free, and the members alive after every run.
for id in 1 2 3; do
  if ss -ltn | grep -q ":$((PORT_BASE + id)) "; then log "port $((PORT_BASE + id)) in use"; exit 1; fi
done
mine_alive() { for id in 1 2 3; do kill -0 "${PID[$id]}" 2>/dev/null || { log "member $id died"; cat "$WORK/m$id.log" >&2; exit 1; }; done; }
stop_all; rm -rf "$WORK"/m*; mkdir -p "$WORK"
for id in 1 2 3; do start "$id"; done
sleep 0.5; mine_alive
wait_kv_leader
mine_alive
common=(--addrs "$addrs" --record-size 256 --keys "$KEYS" --seconds "$DURATION" --warmup-seconds 1)
for r in $(seq "$RUNS"); do
  run "put64 sync  r$r" kv-put "${common[@]}" --clients 64 --sync
  run "put64 async r$r" kv-put "${common[@]}" --clients 64
done
for r in $(seq "$RUNS"); do
  run "get16 sync  r$r" kv-get "${common[@]}" --clients 16 --sync
  run "get16 async r$r" kv-get "${common[@]}" --clients 16
done
stop_all
