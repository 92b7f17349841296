#!/bin/sh
# Checks replog-dump on logs written by the real engine (replog_dump_fixture):
# exit codes and the DATA_LOSS / WARNING lines of --verify, --json and --summary.
#
# Usage: dump_verify_test.sh REPLOG_DUMP REPLOG_DUMP_FIXTURE
set -u
dump=$1
fixture=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "FAIL: $*"
  [ -f "$tmp/out" ] && cat "$tmp/out"
  exit 1
}

# run ARGS...: runs replog-dump into $tmp/out; sets rc.
run() {
  "$dump" "$@" >"$tmp/out" 2>&1
  rc=$?
}

"$fixture" "$tmp/clean" clean || fail "fixture clean"
run --verify "$tmp/clean"
[ "$rc" -eq 0 ] || fail "clean log: --verify exit $rc, want 0"
grep -q "0 data loss, 0 warnings" "$tmp/out" || fail "clean log: problems reported"

for mode in flip-sealed flip-synced-tail; do
  where=$("$fixture" "$tmp/$mode" "$mode") || fail "fixture $mode"
  run --verify "$tmp/$mode"
  [ "$rc" -eq 1 ] || fail "$mode: --verify exit $rc, want 1"
  grep -qF "DATA_LOSS: $where: bad checksum" "$tmp/out" || fail "$mode: no 'DATA_LOSS: $where: bad checksum' line"
done

where=$("$fixture" "$tmp/torn" torn-tail) || fail "fixture torn-tail"
run --verify "$tmp/torn"
[ "$rc" -eq 0 ] || fail "torn tail: --verify exit $rc, want 0 (cut on open, not data loss)"
grep -qF "WARNING: $where: torn tail" "$tmp/out" || fail "torn tail: no 'WARNING: $where: torn tail' line"

run --json "$tmp/clean"
[ "$rc" -eq 0 ] || fail "--json exit $rc"
tail -n 1 "$tmp/out" | grep -q '^{"summary":{"segments":3,' || fail "--json: last line is not the summary"
grep -q '^{"file":".*/00000000000000000001.log","pos":[0-9]*,"type":"entry","size":64,"status":"ok","index":1,"term":1,' \
  "$tmp/out" || fail "--json: no line for entry 1"

run --summary "$tmp/clean/00000000000000000013.log"
[ "$rc" -eq 0 ] || fail "--summary exit $rc"
grep -q "entries     13 .. 15" "$tmp/out" || fail "--summary of one file: entries"
[ "$(wc -l <"$tmp/out")" -eq 7 ] || fail "--summary printed more than the summary"

run "$tmp/missing"
[ "$rc" -eq 2 ] || fail "missing path: exit $rc, want 2"
grep -q "NOT_FOUND" "$tmp/out" || fail "missing path: no error message"
run --no-such-flag "$tmp/clean"
[ "$rc" -eq 2 ] || fail "bad flag: exit $rc, want 2"

echo "PASS"
