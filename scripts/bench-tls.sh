#!/usr/bin/env bash
# The cost of TLS (issue 7): replog produce throughput and latency with
# mutual TLS and the access policy on against plaintext, in one run on one
# machine. RUNS times, in turn: a fresh 3-member cluster on
# 127.0.0.1:7401-7403 (PORT_BASE + 1..3) in plaintext, then with
# development certificates (scripts/dev-certs.sh, under $WORK/certs), then
# with the certificates and an access policy; replog-bench produce at each
# of CLIENTS (256-byte records, one per request, exactly-once). Every result
# is a JSON line in $OUT; a table of medians ends the run. Knobs (environment): BUILD, WORK,
# PORT_BASE, RUNS, CLIENTS, DURATION.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
BUILD=${BUILD:-build}
WORK=${WORK:-data/bench-tls}
PORT_BASE=${PORT_BASE:-7400}
RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-"1 16 64"}
DURATION=${DURATION:-10}
OUT=${OUT:-$WORK/results.jsonl}
log() { echo "[bench-tls $(date +%H:%M:%S)] $*" >&2; }
source "$root/scripts/bench_lib.sh"

mkdir -p "$WORK"
certs=$WORK/certs
[ -f "$certs/ca.crt" ] || bash scripts/dev-certs.sh "$certs" --members 3 --clients bench >/dev/null
cat >"$WORK/acl.toml" <<'POLICY'
[[allow]]
principals = ["bench"]
actions = ["log:*"]
POLICY
tls_client=(--tls-ca "$certs/ca.crt" --tls-cert "$certs/bench.crt" --tls-key "$certs/bench.key")

: >"$OUT"
log "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq "$RUNS"); do
  for mode in plaintext tls tls+policy; do
    case $mode in
      plaintext) fresh; flags=() ;;
      tls) TLS_DIR=$certs CLI_FLAGS="${tls_client[*]}" fresh; flags=("${tls_client[@]}") ;;
      tls+policy) TLS_DIR=$certs CLI_FLAGS="${tls_client[*]}" fresh --acl-policy "$WORK/acl.toml"
        flags=("${tls_client[@]}") ;;
    esac
    for c in $CLIENTS; do
      record "produce $mode C=$c" produce --addrs "$addrs" --clients "$c" --record-size 256 --batch 1 \
        --seconds "$DURATION" --warmup-seconds 1 "${flags[@]}"
    done
    stop_all
  done
done

python3 "$root/scripts/bench_table.py" "$OUT" "ops/s=ops_per_s|tput:0" "p50 ms=p50_ms:2" "p99 ms=p99_ms:2" "max ms=max_ms:2" "errors=errors:0"
