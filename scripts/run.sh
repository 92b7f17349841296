#!/usr/bin/env bash
# `make run`: what a new user can run today. The replicated service (replogd,
# a local 3-member cluster under ./data) arrives with issue 4; until then this
# shows the storage engine's tools on a small demo log under ./data/demo.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

demo=data/demo
rm -rf "$demo"
mkdir -p data
echo "Building done. Writing a demo log with the storage benchmark (2 s)..."
"$build/bench/replog-bench" storage --workload sync --dir "$demo" --seconds 2 --record-size 256 --batch 4 --keep

cat <<MSG

replog — what exists so far
  $build/bench/replog-bench storage --workload sync|group|nosync|read-random|read-seq|open|memory --dir DIR
        storage engine benchmarks with same-disk baselines (see BENCHMARKS.md)
  $build/apps/replog-dump/replog-dump PATH [--json] [--summary] [--verify]
        lists and verifies the records of a log directory or segment file

Try:
  $build/apps/replog-dump/replog-dump $demo --summary
  $build/apps/replog-dump/replog-dump $demo --verify && echo clean

The replicated log service (replogd, a local 3-member cluster under ./data,
the replog CLI) is not built yet: see the open issues (issues list).
MSG
