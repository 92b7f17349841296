#!/usr/bin/env bash
# `make run`: starts a local 3-member replog cluster on 127.0.0.1:7001-7003
# with data under ./data/1, ./data/2 and ./data/3, prints how to use it, and
# stops every member cleanly (SIGTERM) on Ctrl-C. Data is kept between runs:
# a second `make run` restarts the same cluster (remove ./data to start over).
#
# The cluster runs with mutual TLS and access control on: development
# certificates (scripts/dev-certs.sh) in ./data/certs, made on the first
# run, and the access policy ./data/acl.toml (admin may do everything,
# reader may only consume and read the KV store). Metrics and health are
# served on 127.0.0.1:9001-9003 (docs/metrics.md).
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

replogd=$build/apps/replogd/replogd
replog=$build/apps/replog/replog
members=1=127.0.0.1:7001,2=127.0.0.1:7002,3=127.0.0.1:7003
mkdir -p data
certs=data/certs
if [ ! -f $certs/ca.crt ]; then
  bash scripts/dev-certs.sh $certs --members 5 --clients admin,reader >/dev/null
fi
if [ ! -f data/acl.toml ]; then
  cat > data/acl.toml <<'POLICY'
# Access policy of the local cluster (docs/operations.md, "Access control").
# Principals are the client certificates' subject CNs; members (member-*)
# are allowed the peer service only.
[[allow]]
principals = ["admin"]
actions = ["*"]

[[allow]]
principals = ["reader"]
actions = ["log:consume", "kv:read"]
POLICY
fi
# The CLI below, and the one the user is shown, connect as admin.
export REPLOG_TLS_CA=$root/$certs/ca.crt REPLOG_TLS_CERT=$root/$certs/admin.crt REPLOG_TLS_KEY=$root/$certs/admin.key

for port in 7001 7002 7003 9001 9002 9003; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
    echo "run: port $port is in use (another 'make run'?); stop it first" >&2
    exit 1
  fi
done

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping the cluster..."
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  echo "Stopped. Data is in ./data (logs in ./data/N/replogd.log)."
  exit 0
}
trap stop INT TERM EXIT

for id in 1 2 3; do
  mkdir -p data/$id
  "$replogd" --id $id --data-dir data/$id --listen 127.0.0.1:700$id --initial-members $members \
    --tls-ca $certs/ca.crt --tls-cert $certs/member-$id.crt --tls-key $certs/member-$id.key \
    --acl-policy data/acl.toml --metrics-listen 127.0.0.1:900$id >>data/$id/replogd.log 2>&1 &
  pids+=($!)
done

# Wait until a leader is known (at most 10 s).
for _ in $(seq 100); do
  if "$replog" servers >/dev/null 2>&1 && "$replog" servers --json 2>/dev/null | grep -q '"is_leader": *true'; then
    break
  fi
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run: a member exited at start; its log:" >&2
      tail -n 20 data/*/replogd.log >&2
      exit 1
    fi
  done
  sleep 0.1
done

cat <<MSG

replog: a 3-member cluster is running on 127.0.0.1:7001, :7002 and :7003
(data under ./data, member logs in ./data/N/replogd.log), with mutual TLS
and the access policy ./data/acl.toml.

$("$replog" servers 2>&1)

In another terminal, from $root, first tell the CLI its certificate (the
principal "admin"; ./data/certs/reader.* may only read):
  export REPLOG_TLS_CA=$REPLOG_TLS_CA
  export REPLOG_TLS_CERT=$REPLOG_TLS_CERT
  export REPLOG_TLS_KEY=$REPLOG_TLS_KEY
then:
  $replog produce hello world            # two records; prints their offsets
  seq 1000 | $replog produce             # one record per line of stdin
  $replog consume --from 0 --max 5       # read from the first offset
  $replog consume --from 0 --follow      # tail the log (Ctrl-C to stop)
  $replog servers                        # members and the leader
  $replog kv put color blue              # the key-value store (docs/kv.md)
  $replog kv get color                   # linearizable; --local: this member's state
  $replog kv cas color --expect blue --value green
  $replog kv scan --prefix co
  kill -9 <pid of the leader>            # and produce again: a new leader takes over
  kill -HUP <pid>                        # reload certificates and ./data/acl.toml
  curl -s 127.0.0.1:9001/metrics | grep ^replog_raft   # Prometheus metrics (docs/metrics.md)
  curl -s 127.0.0.1:9001/readyz          # 200 "ready" once member 1 has a leader and is caught up

Members: pids ${pids[*]}. Press Ctrl-C here to stop the cluster.
MSG
wait
