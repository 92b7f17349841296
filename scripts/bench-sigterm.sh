#!/usr/bin/env bash
# The write gap of a graceful leader shutdown (issue 5; BENCHMARKS.md). ROUNDS
# times: a fresh 3-member cluster on 127.0.0.1 (ports PORT_BASE+1..+3,
# default Raft timing, data under $WORK), `replog-bench produce` with CLIENTS
# clients logging every ack (--ack-log, Unix ms), SIGTERM to the leader 2 s
# in. The gap is the longest interval between consecutive acks from the last
# one before the SIGTERM to the first one after the old leader knew its
# successor (its log says when). Also printed: how long the old leader took
# to exit, its own account of the hand-over, and the longest interval
# between acks in the 2 s before the SIGTERM (the machine's noise). Every
# round is a JSON line in $OUT; the median gap ends the run. Knobs
# (environment): BUILD, WORK, ROUNDS, CLIENTS, PORT_BASE.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
WORK=${WORK:-data/bench-sigterm}
ROUNDS=${ROUNDS:-7}
CLIENTS=${CLIENTS:-1}
PORT_BASE=${PORT_BASE:-7300}
OUT=${OUT:-$WORK/results.jsonl}
log() { echo "[bench-sigterm $(date +%H:%M:%S)] $*" >&2; }

LOG_LEVEL=info  # the old leader's hand-over lines are read
source "$root/scripts/bench_lib.sh"

mkdir -p "$WORK"
: >"$OUT"
log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for k in $(seq "$ROUNDS"); do
  fresh
  acks=$WORK/acks.$k
  : >"$acks"
  "$bench" produce --addrs "$addrs" --clients "$CLIENTS" --seconds 5 --warmup-seconds 0 --ack-log "$acks" \
    >/dev/null 2>&1 &
  producer=$!
  sleep 2
  l=$(leader)
  term_ms=$(date +%s%3N)
  kill -TERM "${PID[$l]}"
  wait "${PID[$l]}" || log "member $l exited with $?"
  exit_ms=$(($(date +%s%3N) - term_ms))
  unset "PID[$l]"
  wait "$producer" || true
  handover=$(grep -o 'shutdown: handed leadership to .*\|shutdown: leadership not handed over.*' "$WORK/m$l.log" | tail -1 | sed 's/^shutdown: //' || true)
  # The old leader knows its successor handover_ms after the SIGTERM (its own
  # log); every ack after that comes from the new leader. The gap: the longest
  # interval between consecutive acks from the last one before the SIGTERM to
  # the first one after that moment. For comparison, "before_ms": the longest
  # interval in the 2 s before the SIGTERM (stalls of a loaded machine).
  handover_ms=$(sed -n 's/.* in \([0-9.]*\) ms.*/\1/p' <<<"$handover" | cut -d. -f1)
  read -r gap end before < <(sort -n "$acks" | awk -v t="$term_ms" -v h="${handover_ms:-1000}" '
    $1 <= t { if (NR > 1 && $1 - prev > before && prev >= t - 2000) before = $1 - prev; last = $1 }
    $1 > t && !done { if (last && $1 - (p ? p : last) > best) { best = $1 - (p ? p : last); end = $1 - t }
                      p = $1; if ($1 > t + h) done = 1 }
    { prev = $1 }
    END { if (done) print best, end, before + 0; else print "null null", before + 0 }')
  log "round $k: SIGTERM leader $l; exit after ${exit_ms} ms; write gap ${gap} ms (ends SIGTERM+${end} ms;" \
    "longest in the 2 s before: ${before} ms); ${handover}"
  echo "{\"label\":\"replog sigterm leader\",\"clients\":$CLIENTS,\"gap_ms\":$gap,\"gap_end_ms\":$end,\"before_ms\":$before,\"exit_ms\":$exit_ms,\"handover_ms\":${handover_ms:-null}}" >>"$OUT"
done
stop_all

python3 - "$OUT" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
for key in ("gap_ms", "gap_end_ms", "before_ms", "handover_ms", "exit_ms"):
    vals = [r[key] for r in rows if r.get(key) is not None]
    if vals:
        print(f"{key:11} median {statistics.median(vals):7.1f}  min {min(vals):5}  max {max(vals):5}  n {len(vals)}")
PY
