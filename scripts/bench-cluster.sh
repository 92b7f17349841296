#!/usr/bin/env bash
# Issue 4's service benchmarks, side by side with etcd 3.4 in one run
# (BENCHMARKS.md, "The replicated log service"). Starts a 3-member replog
# cluster on 127.0.0.1:7201-7203 with default settings and data under
# $WORK, then, RUNS times: replog produce at each of CLIENTS, then etcd put at
# the same concurrency (../shared/tools/etcd-bench.sh, same disk). Then
# consume from a follower (1 KiB records), and FAILOVERS times the gap from
# SIGKILL of the leader to the next acknowledged produce (and etcd's, with
# its FAILOVER=1 mode). LONG_SECONDS > 0 adds a loaded run without faults
# that must see no leader change. Produces use exactly-once (the client's
# default); NO_EO_CLIENTS lists the concurrencies also measured without it
# (--no-exactly-once) in each run, to show its cost; UNARY_CLIENTS those also
# measured with a Produce call per request (--unary) instead of the client's
# pipelined ProduceStream. Every result is a JSON line in $OUT; a
# table of medians ends the run. Knobs (environment): BUILD, WORK, RUNS,
# CLIENTS, NO_EO_CLIENTS, UNARY_CLIENTS, DURATION, FAILOVERS, LONG_SECONDS,
# ETCD_BENCH (path; skipped if missing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
WORK=${WORK:-data/bench-cluster}
RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-"1 16 64"}
NO_EO_CLIENTS=${NO_EO_CLIENTS:-"64"}
UNARY_CLIENTS=${UNARY_CLIENTS:-"64"}
DURATION=${DURATION:-10}
FAILOVERS=${FAILOVERS:-5}
LONG_SECONDS=${LONG_SECONDS:-0}
ETCD_BENCH=${ETCD_BENCH:-$root/../shared/tools/etcd-bench.sh}
ETCD_WORK=${ETCD_WORK:-/tmp/replog-etcd-bench}  # etcd-bench.sh reads WORK too: same disk as ./data here
OUT=${OUT:-$WORK/results.jsonl}
PORT_BASE=7200
log() { echo "[bench-cluster $(date +%H:%M:%S)] $*" >&2; }

source "$root/scripts/bench_lib.sh"

mkdir -p "$WORK"
: >"$OUT"
log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$RUNS"); do
  fresh
  for c in $CLIENTS; do
    record "replog produce C=$c" produce --addrs "$addrs" --clients "$c" --record-size 256 --batch 1 \
      --seconds "$DURATION" --warmup-seconds 1
  done
  for c in $NO_EO_CLIENTS; do
    record "replog produce no-exactly-once C=$c" produce --addrs "$addrs" --clients "$c" --record-size 256 \
      --batch 1 --seconds "$DURATION" --warmup-seconds 1 --no-exactly-once
  done
  for c in $UNARY_CLIENTS; do
    record "replog produce unary C=$c" produce --addrs "$addrs" --clients "$c" --record-size 256 \
      --batch 1 --seconds "$DURATION" --warmup-seconds 1 --unary
  done
  stop_all
  if [ -x "$ETCD_BENCH" ]; then
    WORK=$ETCD_WORK CLIENTS="$CLIENTS" DURATION="${DURATION}s" READS=0 "$ETCD_BENCH" 2>>"$WORK/etcd-bench.log" >>"$OUT"
    tail -n 3 "$OUT" >&2
  fi
done

fresh
for c in 1 4; do
  record "replog consume follower 1KiB C=$c" consume --addrs "$addrs" --clients "$c" --record-size 1024 \
    --seconds "$DURATION" --follower true --produce-first $((c == 1 ? 300000 : 0))
done

for k in $(seq "$FAILOVERS"); do
  fresh
  acks=$WORK/acks.$k
  : >"$acks"
  "$bench" produce --addrs "$addrs" --clients 1 --seconds 6 --warmup-seconds 0 --ack-log "$acks" >/dev/null 2>&1 &
  producer=$!
  sleep 2
  l=$(leader)
  kill_ms=$(date +%s%3N)
  kill -9 "${PID[$l]}"
  wait "${PID[$l]}" 2>/dev/null || true
  unset "PID[$l]"
  wait "$producer" || true
  # The outage ends with the first ack after the longest silence that
  # straddles the kill (an ack or two in flight may still land just after it).
  gap=$(awk -v t="$kill_ms" 'NR > 1 && $1 > t && prev >= t - 1000 && $1 - prev > best { best = $1 - prev; end = $1 }
                             { prev = $1 } END { if (end) print end - t }' "$acks")
  log "failover $k: leader $l killed; next ack after ${gap:-none} ms"
  echo "{\"label\":\"replog failover\",\"failover_ms\":${gap:-null}}" >>"$OUT"
done
if [ -x "$ETCD_BENCH" ]; then
  WORK=$ETCD_WORK CLIENTS=" " READS=0 FAILOVER=1 "$ETCD_BENCH" 2>>"$WORK/etcd-bench.log" >>"$OUT"
  tail -n 3 "$OUT" >&2
fi

if [ "$LONG_SECONDS" -gt 0 ]; then
  fresh
  t0=$(term)
  record "replog produce long C=64" produce --addrs "$addrs" --clients 64 --record-size 256 --batch 1 \
    --seconds "$LONG_SECONDS" --warmup-seconds 1
  t1=$(term)
  log "long run: term $t0 before, $t1 after ($((t1 - t0)) leader changes at most)"
  echo "{\"label\":\"replog long run\",\"seconds\":$LONG_SECONDS,\"term_before\":$t0,\"term_after\":$t1}" >>"$OUT"
fi
stop_all

python3 "$root/scripts/bench_table.py" "$OUT" "ops/s=ops_per_s|tput:0" "MB/s=mb_per_s" "p50 ms=p50_ms:2" "p99 ms=p99_ms:2" "failover ms=failover_ms:0"
