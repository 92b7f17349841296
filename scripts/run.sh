#!/usr/bin/env bash
# `make run`: what a new user can run today. The replicated service (replogd,
# a local 3-member cluster under ./data) arrives with issue 4; until then this
# writes a small demo log under ./data/demo with the storage engine and prints
# commands that work on it, each one ready to paste from the repository root.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

demo=data/demo
log=$demo/log-sync # where `replog-bench storage --workload sync --keep` leaves its log
rm -rf "$demo"
mkdir -p data
echo "Built. Writing a demo log under $demo with the storage benchmark (about 5 s)..."
# Only the one-line summary: the JSON line is for scripts.
"$build/bench/replog-bench" storage --workload sync --dir "$demo" \
  --seconds 1 --warmup-seconds 0 --record-size 256 --batch 4 --keep | grep -v '^{'

cat <<MSG

replog — what exists so far
  $build/apps/replog-dump/replog-dump   lists and verifies the records of a log directory or segment file
  $build/bench/replog-bench             storage engine benchmarks, each with same-disk baselines

Try:
  $build/apps/replog-dump/replog-dump $log --summary
  $build/apps/replog-dump/replog-dump $log --verify && echo clean
  $build/apps/replog-dump/replog-dump $log | head -20
  $build/bench/replog-bench storage --help
  $build/bench/replog-bench storage --workload group --dir data/bench --seconds 5
  make test

Not built yet: the replicated log service (replogd, a local 3-member cluster
under ./data), the replog CLI, the client library and the KV store (README.md,
"State of the project").
MSG
