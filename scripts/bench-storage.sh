#!/usr/bin/env bash
# `make bench-storage`: every storage workload of issue 2, RUNS times each
# (default 3), one after the other on the same disk, each with its baselines
# measured in the same run. Prints every summary line, writes the JSON lines
# to $OUT (default ./data/bench-storage.jsonl) and ends with a table of
# medians per workload (what BENCHMARKS.md quotes).
#
# Knobs (environment): RUNS=3 SECONDS_PER_RUN=10 DIR=./data/bench OUT=... BUILD=build
# ONLY=REGEX (only the workloads whose name matches, e.g. ONLY='^nosync')
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
build=${BUILD:-build}
bench="$build/bench/replog-bench"
runs=${RUNS:-3}
secs=${SECONDS_PER_RUN:-10}
dir=${DIR:-./data/bench}
out=${OUT:-./data/bench-storage.jsonl}
[[ -x "$bench" ]] || { echo "bench-storage: $bench not built (run make build)" >&2; exit 2; }
mkdir -p "$dir" "$(dirname "$out")"
: >"$out"

# name | flags
workloads=(
  "sync-1x256|--workload sync --record-size 256 --batch 1"
  "group-64x256|--workload group --writers 64 --record-size 256 --batch 1"
  "sync-1MiB|--workload sync --record-size 1048576 --batch 1"
  "sync-1MiB-retain1GiB|--workload sync --record-size 1048576 --batch 1 --retain-bytes 1GiB"
  "nosync-100|--workload nosync --record-size 100 --batch 1"
  "nosync-100-batch64|--workload nosync --record-size 100 --batch 64"
  "read-random|--workload read-random"
  "read-seq|--workload read-seq"
  "read-seq-for-each|--workload read-seq --read-api for-each"
  "open-2GiB|--workload open"
  "memory-20M|--workload memory"
)

for ((r = 1; r <= runs; r++)); do
  for w in "${workloads[@]}"; do
    name=${w%%|*}
    flags=${w#*|}
    [[ -z ${ONLY:-} || $name =~ $ONLY ]] || continue
    echo "== run $r/$runs: $name" >&2
    # shellcheck disable=SC2086
    "$bench" storage $flags --dir "$dir/$name" --seconds "$secs" 2>/dev/null |
      while IFS= read -r line; do
        if [[ $line == '{'* ]]; then
          printf '{"name":"%s","run":%d,%s\n' "$name" "$r" "${line#\{}" >>"$out"
        else
          echo "$name: $line"
        fi
      done
  done
done

python3 - "$out" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows:
    by.setdefault(r["name"], []).append(r)
def med(rs, key):
    vals = [r[key] for r in rs if isinstance(r.get(key), (int, float))]
    return statistics.median(vals) if vals else None
def fmt(v):
    return "-" if v is None else (f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2f}")
keys = ["records_per_s", "mb_per_s", "syncs_per_s", "p50_us", "p99_us",
        "baseline_syncs_per_s", "baseline_mb_per_s", "ratio"]
print("\nmedians of", len(next(iter(by.values()))), "runs")
print("| workload | " + " | ".join(keys) + " |")
print("|---" * (len(keys) + 1) + "|")
for name, rs in by.items():
    print(f"| {name} | " + " | ".join(fmt(med(rs, k)) for k in keys) + " |")
extra = ["open_ms", "open_cold_ms", "rss_growth_kb", "rss_anon_growth_kb", "rss_file_growth_kb",
         "rss_growth_per_segment_kb", "cache_budget_bytes", "segments", "final_sync_ms"]
print("\n| workload | " + " | ".join(extra) + " |")
print("|---" * (len(extra) + 1) + "|")
for name, rs in by.items():
    if name.startswith(("open", "memory", "nosync")):
        print(f"| {name} | " + " | ".join(fmt(med(rs, k)) for k in extra) + " |")
PY
