#!/usr/bin/env bash
# faults.sh: the state database's write fails in the middle of a run (libfiu,
# enabled in the running smflow with fiu-ctrl): smflow stops with a clear error
# and exit 4 (no crash), the database passes integrity_check, and `resume`
# completes the run with no step done twice. A local run syncs state.db once,
# at its end: a failing sync there gives exit 4 and says the run's end is
# recorded but not durable (nothing to resume, every step ran once).
source "$(dirname "$0")/lib/engine.bash"
command -v fiu-run >/dev/null || { echo "skipped: fiu-run not installed"; exit 0; }
# fiu's LD_PRELOAD and AddressSanitizer's runtime cannot both come first.
if ldd "$SMFLOW" | grep -q libasan; then echo "skipped: sanitizer build"; exit 0; fi

cat >p.yaml <<YAML
smflow: 1
name: faults
steps:
  a: {run: "echo a >> $T/ledger"}
  b: {needs: [a], run: "echo b-start >> $T/ledger; while [ ! -e $T/go ]; do sleep 0.05; done; echo b >> $T/ledger"}
  c: {needs: [b], run: "echo c >> $T/ledger"}
  d: {needs: [c], run: "echo d >> $T/ledger"}
YAML

wait_for() {
  for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "timed out waiting for '$2' in $1"
}

# SQLite writes its files with pwrite and syncs them with fsync/fdatasync. (Failing
# every write() of the process is not a state-database fault: libuv's own signal
# pipe asserts on it.)
start_faulty() {
  rm -rf state ledger go
  fiu-run -x -f "$T/fiu-ctrl" "$SMFLOW" --state-dir state run p.yaml >bg.out 2>bg.err &
  pid=$!
  wait_for ledger b-start
  fiu-ctrl -f "$T/fiu-ctrl" -c "enable name=$1" $pid || fail "fiu-ctrl $1"
  touch go
  wait $pid
  rc=$?
  expect_eq "$1: exit" "$rc" 4
  expect_contains "$1: message" "$(cat bg.err)" "state.db"
  grep -q "Segmentation\|Aborted\|AddressSanitizer" bg.err && fail "$1: smflow crashed"
  expect_eq "$1: integrity" "$(q 'PRAGMA integrity_check')" ok
}

start_faulty "posix/io/sync/*"
expect_contains "sync: what happened" "$(cat bg.err)" "succeeded, but"
expect_contains "sync: which file" "$(cat bg.err)" "cannot sync"
grep -q "resume with" bg.err && fail "sync: a finished run told to resume"
expect_eq "sync: every step once" "$(sort ledger | tr '\n' ' ')" "a b b-start c d "
expect_eq "sync: run recorded" "$(q "select status from runs")" succeeded

for fault in "posix/io/rw/pwrite"; do
  start_faulty "$fault"
  expect_contains "$fault: how to resume" "$(cat bg.err)" "resume with: smflow resume"
  sm resume
  expect_eq "$fault: resume" "$rc" 0
  # b finished while the database failed: if its success could not be recorded,
  # resume runs it again as a new attempt — never more often than recorded.
  expect_eq "$fault: a, c, d once" "$(grep -c '^[acd]$' ledger)" 3
  expect_eq "$fault: b runs = b attempts" "$(grep -c b-start ledger)" "$(q "select count(*) from attempts where step_id='b'")"
  expect_eq "$fault: order" "$(tail -2 ledger | tr '\n' ' ')" "c d "
  expect_eq "$fault: all succeeded" "$(q "select count(*) from steps where state='succeeded'")" 4
done
finish
