# Sourced by the bench-*.sh scripts: a local 3-member replog cluster and
# the recording of replog-bench results. The script sets, before sourcing:
#   BUILD, WORK (data and logs), PORT_BASE (members on PORT_BASE + 1..3),
#   OUT (JSON lines), log() for messages, and optionally LOG_LEVEL (the
#   members' --log-level; default warn).
# It gets: $replogd, $replog, $bench, $addrs, $members, PID (id -> pid),
# leader and term (of the log group, 0/"" when unknown),
# start ID [FLAG...], stop_all (also on exit), fresh [FLAG...] (wipes the
# data, starts 3 members with the flags, waits for a log leader),
# wait_kv_leader (until a KV write succeeds), and
# record LABEL ARG... (runs replog-bench, appends its JSON line labelled).
replogd=$BUILD/apps/replogd/replogd
replog=$BUILD/apps/replog/replog
bench=$BUILD/bench/replog-bench
addrs=127.0.0.1:$((PORT_BASE + 1)),127.0.0.1:$((PORT_BASE + 2)),127.0.0.1:$((PORT_BASE + 3))
members=1=127.0.0.1:$((PORT_BASE + 1)),2=127.0.0.1:$((PORT_BASE + 2)),3=127.0.0.1:$((PORT_BASE + 3))

declare -A PID=()
start() {
  local id=$1; shift
  "$replogd" --id "$id" --data-dir "$WORK/m$id" --listen "127.0.0.1:$((PORT_BASE + id))" --initial-members "$members" \
    --log-level "${LOG_LEVEL:-warn}" "$@" >>"$WORK/m$id.log" 2>&1 &
  PID[$id]=$!
}
stop_all() {
  local id
  for id in "${!PID[@]}"; do kill -TERM "${PID[$id]}" 2>/dev/null || true; done
  for id in "${!PID[@]}"; do wait "${PID[$id]}" 2>/dev/null || true; done
  PID=()
}
trap stop_all EXIT
# The log group's leader id per `replog servers` (0: none); CLI_FLAGS are
# given to the CLI (TLS files, say).
servers_json() { "$replog" --addrs "$addrs" ${CLI_FLAGS:-} servers --json 2>/dev/null; }
leader() { servers_json | python3 -c 'import json,sys; print(json.load(sys.stdin)["leader_id"])'; }
term() { servers_json | python3 -c 'import json,sys; print(json.load(sys.stdin)["term"])'; }
wait_leader() {
  local l
  for _ in $(seq 200); do
    l=$(leader 2>/dev/null || echo 0)
    [ "${l:-0}" != 0 ] && return 0
    sleep 0.05
  done
  log "no leader after 10 s"; exit 1
}
# fresh [FLAG...]: the flags go to every member; with TLS_DIR set, each
# member also gets its certificate from there (scripts/dev-certs.sh names).
fresh() {
  stop_all; rm -rf "$WORK"/m*; mkdir -p "$WORK"
  local id tls=()
  for id in 1 2 3; do
    if [ -n "${TLS_DIR:-}" ]; then
      tls=(--tls-ca "$TLS_DIR/ca.crt" --tls-cert "$TLS_DIR/member-$id.crt" --tls-key "$TLS_DIR/member-$id.key")
    fi
    start "$id" "$@" "${tls[@]}"
  done
  wait_leader
}
# Until a KV write succeeds: the KV group has a leader (at most about 20 s).
wait_kv_leader() {
  for _ in $(seq 20); do
    "$replog" --addrs "$addrs" --timeout 1 ${CLI_FLAGS:-} kv put bench-kv/ready 1 >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  log "no KV leader after 20 s"; exit 1
}
record() {
  local label=$1 out; shift
  out=$("$bench" "$@" 2>/dev/null) || { log "$label failed"; return 0; }
  grep -v '^{' <<<"$out" >&2 || true
  grep '^{' <<<"$out" | sed "s/^{/{\"label\":\"$label\",/" >>"$OUT"
}
