#!/usr/bin/env bash
# local_store_sync.sh: a local run leaves the syncs of its store objects off
# the critical path and syncs them all before its end; resume runs again a
# succeeded step whose object a power loss cut short, and what is downstream.
#
# 1. The quickstart under an LD_PRELOAD shim (built here) that logs every
#    fsync/fdatasync with the file's path, and holds every fsync of a path
#    under STATE_DIR/store until $T/release exists. Every step reaches
#    "succeeded" while they are held (a step waiting for one of its objects'
#    syncs could not), the run does not end (its end waits for them), the
#    write-ahead log is synced early only before the first object (the commits
#    after it name objects: the same thread syncs them first), and once
#    released every stored file and its directory is synced, before the
#    write-ahead log's last sync.
# 2. The same shim failing those fsyncs (EIO): exit 4 with the final sync's
#    message naming the object.
# 3. The upload step's content-addressed object truncated: the next run stores
#    it again instead of reusing it (size compared).
# 4. kill -9 while a step after evaluate runs, model.tar.gz truncated (the
#    power loss kept the record, not the bytes): resume runs train again, and
#    evaluate and the gate after it; the run succeeds.
# 5. The step cache serves an entry only while the objects recorded for it
#    are whole.
source "$(dirname "$0")/lib/steps.bash"
# The shim's LD_PRELOAD and AddressSanitizer's runtime cannot both come first:
# a sanitizer build runs parts 3-5 only.
shim=1
command -v cc >/dev/null || shim=0
ldd "$SMFLOW" | grep -q libasan && shim=0

cat >shim.c <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int shim_call(int fd, const char *what)
{
  char link[64], path[4096];
  snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, path, sizeof(path) - 1);
  path[n > 0 ? n : 0] = '\0';
  const char *log = getenv("SHIM_LOG"), *store = getenv("SHIM_STORE");
  if (log) {
    char line[4200];
    int len = snprintf(line, sizeof(line), "%s %s\n", what, path);
    int lfd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (lfd >= 0) {
      ssize_t w = write(lfd, line, (size_t)len);
      (void)w;
      close(lfd);
    }
  }
  if (store && strncmp(path, store, strlen(store)) == 0) {
    const char *hold = getenv("SHIM_HOLD");
    while (hold && access(hold, F_OK) != 0) {
      usleep(10000);
    }
    if (getenv("SHIM_FAIL")) {
      errno = EIO;
      return -1;
    }
  }
  return 0;
}

int fsync(int fd)
{
  if (shim_call(fd, "fsync") != 0) {
    return -1;
  }
  int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
  return real(fd);
}

int fdatasync(int fd)
{
  if (shim_call(fd, "fdatasync") != 0) {
    return -1;
  }
  int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
  return real(fd);
}
C
if [[ $shim == 1 ]]; then
  cc -shared -fPIC -O2 -o shim.so shim.c -ldl || { fail "cannot build the fsync shim"; finish; }
fi
quickstart_copy qs
STORE=$T/state/store

# wait_sql SQL WANT [TRIES]: poll the state database until SQL answers WANT.
wait_sql() {
  local i
  for ((i = 0; i < ${3:-600}; i++)); do
    [[ $(sqlite3 "$T/state/state.db" "$1" 2>/dev/null) == "$2" ]] && return 0
    sleep 0.05
  done
  return 1
}

# ---- 1: no store sync between steps, all of them before the end ----
if [[ $shim == 1 ]]; then
SHIM_LOG=$T/sync.log SHIM_STORE=$STORE/ SHIM_HOLD=$T/release LD_PRELOAD=$T/shim.so \
  "$SMFLOW" --state-dir "$T/state" -q run qs/pipeline.yaml >bg.out 2>bg.err &
pid=$!
if wait_sql "select count(*) from steps where state='succeeded'" 6; then
  sleep 0.3
  alive "$pid" || fail "the run ended while its objects' syncs were held"
  first_obj=$(grep -n " $STORE/" sync.log | head -1 | cut -d: -f1)
  tail -n +"${first_obj:-1}" sync.log | grep -q "state.db-wal" &&
    fail "the log was synced before the objects it names"
  held=$(grep -c " $STORE/" sync.log)
  [[ $held -ge 1 ]] || fail "no store object sync was started while the steps ran"
else
  fail "the steps did not finish while their objects' syncs were held (a step waits for them)"
fi
touch release
wait "$pid"
expect_eq "held run: exit" "$?" 0
for s in data code train evaluate register deploy; do
  expect_eq "held run: $s" "$(q "select state from steps where id='$s'")" succeeded
done
# Every stored file, and its directory, was synced; the WAL after all of them.
last_obj=$(grep -n " $STORE/" sync.log | tail -1 | cut -d: -f1)
last_wal=$(grep -n "state.db-wal" sync.log | tail -1 | cut -d: -f1)
[[ -n $last_wal && -n $last_obj && $last_wal -gt $last_obj ]] ||
  fail "the write-ahead log's sync ($last_wal) did not follow the objects' ($last_obj)"
n_files=0
while IFS= read -r f; do
  n_files=$((n_files + 1))
  grep -qxF "fsync $f" sync.log || fail "not synced: $f"
  grep -qxF "fsync $(dirname "$f")" sync.log || fail "directory not synced: $(dirname "$f")"
done < <(find "$STORE" -type f)
[[ $n_files -ge 5 ]] || fail "only $n_files objects stored"
# Each object is recorded with the step that wrote it.
model=$(find "$STORE" -name model.tar.gz | head -1)
expect_eq "model recorded" "$(q "select size from step_objects where step_id='train' and path='$model'")" \
  "$(stat -c %s "$model")"
report=$(find "$STORE" -name evaluation.json | head -1)
expect_eq "report recorded" "$(q "select count(*) from step_objects where step_id='evaluate' and path='$report'")" 1
stop_endpoints

# ---- 2: a failing object sync is the run's failing final sync ----
rm -rf state
SHIM_STORE=$STORE/ SHIM_FAIL=1 LD_PRELOAD=$T/shim.so sm run qs/pipeline.yaml
expect_eq "failing sync: exit" "$rc" 4
expect_contains "failing sync: what" "$(cat "$T/err")" "succeeded, but"
expect_contains "failing sync: which" "$(cat "$T/err")" "cannot sync store object $STORE/"
grep -q "resume with" "$T/err" && fail "failing sync: a finished run told to resume"
stop_endpoints
sm endpoints delete quickstart
else
  echo "parts 1-2 skipped (no C compiler, or a sanitizer build)"
  sm run qs/pipeline.yaml  # what parts 3 and 5 build on
  expect_eq "plain run: exit" "$rc" 0
  stop_endpoints
  sm endpoints delete quickstart
fi

# ---- 3: a content-addressed object of the wrong size is stored again ----
code=$(q "select json_extract(outputs_json, '$.uri') from steps where id='code'")
code_path=$STORE/${code#s3://}
bytes=$(q "select json_extract(outputs_json, '$.bytes') from steps where id='code'")
[[ -f $code_path ]] || fail "no code object at $code_path"
truncate -s 10 "$code_path"
sm run qs/pipeline.yaml --only code
expect_eq "short code: exit" "$rc" 0
expect_eq "short code: not reused" "$(step_field code outputs.reused)" False
expect_eq "short code: whole again" "$(stat -c %s "$code_path")" "$bytes"

# ---- 4: resume after a power loss that kept the record, not the bytes ----
rm -rf state ledger go
cp qs/pipeline.yaml qs/gated.yaml
python3 - qs/gated.yaml "$T" <<'PY'
import sys
p, t = sys.argv[1], sys.argv[2]
text = open(p).read()
head, _ = text.split("  register:", 1)
head = head.replace("name: quickstart", "name: gated")
head += ("  gate:\n    needs: [evaluate]\n    run: \"echo gate >> %s/ledger;"
         " while [ ! -e %s/go ]; do sleep 0.05; done\"\n" % (t, t))
open(p, "w").write(head)
PY
"$SMFLOW" --state-dir "$T/state" -q run qs/gated.yaml >bg.out 2>bg.err &
pid=$!
for _ in $(seq 1 600); do grep -q gate ledger 2>/dev/null && break; sleep 0.05; done
grep -q gate ledger || fail "the gate step never started"
{ kill -KILL "$pid" && wait "$pid"; } 2>/dev/null
model=$(q "select path from step_objects where step_id='train' and path like '%/model.tar.gz'")
[[ -n $model && -f $model ]] || fail "train's model.tar.gz not recorded ($model)"
truncate -s 0 "$model"
touch go
sm resume
expect_eq "resume: exit" "$rc" 0
expect_contains "resume: says which step" "$(cat "$T/err")" "train"
expect_contains "resume: says which object" "$(cat "$T/err")" "$model"
expect_contains "resume: downstream" "$(cat "$T/err")" "upstream step 'train' runs again"
expect_eq "resume: run" "$(q "select status from runs")" succeeded
expect_eq "resume: train ran again" "$(q "select attempts from steps where id='train'")" 2
expect_eq "resume: evaluate ran again" "$(q "select attempts from steps where id='evaluate'")" 2
expect_eq "resume: code not again" "$(q "select attempts from steps where id='code'")" 1
expect_eq "resume: data not again" "$(q "select attempts from steps where id='data'")" 1
new_model=$(q "select path from step_objects where step_id='train' and path like '%/model.tar.gz'")
[[ $new_model != "$model" && -s $new_model ]] || fail "no new model recorded ($new_model)"
expect_eq "resume: new model whole" "$(stat -c %s "$new_model")" \
  "$(q "select size from step_objects where path='$new_model'")"

# ---- 5: a cache entry whose object was cut short is not served ----
# (No output_path: the model lands in the default bucket, which the cache key
# does not hash, so only the recorded objects tell.)
cat >cached.yaml <<YAML
smflow: 1
name: cached
target: local
steps:
  train:
    cache: true
    fit:
      entry_point: train.py
      source_dir: qs/code
      instance_type: ml.m5.large
      inputs: {train: qs/data/train}
YAML
[[ -d qs/data/train ]] || fail "no training data from the quickstart runs"
sm run cached.yaml
expect_eq "cache: first run" "$rc" 0
obj=$(q "select path from step_objects where step_id='train' and path like '%/model.tar.gz' order by rowid desc limit 1")
size=$(stat -c %s "$obj")
sm run cached.yaml
expect_eq "cache: second run" "$rc" 0
expect_contains "cache: served" "$(step_field train cached_from)" "/train/1"
truncate -s 1 "$obj"
sm run cached.yaml
expect_eq "cache: third run" "$rc" 0
expect_contains "cache: not served" "$(cat "$T/err")" "not served from the cache: store object $obj is short"
expect_eq "cache: ran" "$(step_field train cached_from)" None
finish
