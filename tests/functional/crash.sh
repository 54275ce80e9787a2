#!/usr/bin/env bash
# crash.sh: a 30-step DAG of `run` steps, each appending "STEP ATTEMPT" to a
# ledger. smflow is killed with SIGKILL at 20 random instants, resumed each
# time, until the run completes. Then: every step succeeded; no step's command
# ran again after its success was recorded; every dependency's successful
# attempt began before its dependant's; `smflow status` agrees with the ledger;
# the database is intact.
source "$(dirname "$0")/lib/engine.bash"
RANDOM=${CRASH_SEED:-$$}
echo "seed: $RANDOM"

{
  echo "smflow: 1"
  echo "name: crash"
  echo "concurrency: 3"
  echo "steps:"
  for i in $(seq 0 29); do
    echo "  s$i:"
    if ((i > 0)); then
      d1=$((RANDOM % i)) d2=$((RANDOM % i))
      echo "    needs: [s$d1, s$d2]"
    fi
    echo "    run: \"echo s$i \$SMFLOW_ATTEMPT >> $T/ledger; sleep 0.$((RANDOM % 4 + 2)); echo k=s$i >> \$SMFLOW_OUTPUT\""
  done
} >crash.yaml
# dsl rejects duplicate needs? Make them unique.
sed -i -E 's/needs: \[(s[0-9]+), \1\]/needs: [\1]/' crash.yaml

kills=0
"$SMFLOW" --state-dir state run crash.yaml >log.out 2>>log.err &
pid=$!
done_rc=
for i in $(seq 1 20); do
  sleep "0.$((RANDOM % 30 + 2))"
  if ! kill -0 $pid 2>/dev/null; then
    wait $pid
    done_rc=$?
    [[ $done_rc -eq 0 ]] && break
    fail "smflow exited $done_rc on its own"
    break
  fi
  kill -9 $pid
  wait $pid 2>/dev/null
  kills=$((kills + 1))
  if [[ $(q "select status from runs") == succeeded ]]; then
    done_rc=0 # killed while exiting after the run had ended
    break
  fi
  # A kill that lands before the run was recorded leaves nothing to resume:
  # nothing was started, so the run is started again.
  if [[ -z $(q "select id from runs" 2>/dev/null) ]]; then
    "$SMFLOW" --state-dir state run crash.yaml >>log.out 2>>log.err &
  else
    "$SMFLOW" --state-dir state resume >>log.out 2>>log.err &
  fi
  pid=$!
done
if [[ -z $done_rc ]]; then
  wait $pid
  done_rc=$?
fi
# Whatever is left: resume to the end.
tries=0
while [[ $done_rc -ne 0 && $tries -lt 3 ]]; do
  "$SMFLOW" --state-dir state resume >>log.out 2>>log.err
  done_rc=$?
  tries=$((tries + 1))
done
echo "kills: $kills"
expect_eq "final exit" "$done_rc" 0
((kills >= 10)) || fail "only $kills kills happened before the run ended"

"$SMFLOW" --state-dir state status --json >status.json
python3 - "$T" <<'PY' || fail "ledger/status check"
import json, re, sys
T = sys.argv[1]
st = json.load(open(f"{T}/status.json"))
ledger = [l.split() for l in open(f"{T}/ledger")]
pos = {}
for i, (step, att) in enumerate(ledger):
    pos.setdefault(step, []).append((int(att), i))
spec = open(f"{T}/crash.yaml").read()
needs = {}
cur = None
for line in spec.splitlines():
    m = re.match(r"  (s\d+):$", line)
    if m:
        cur = m.group(1); needs[cur] = []
    m = re.match(r"    needs: \[(.*)\]", line)
    if m:
        needs[cur] = [x.strip() for x in m.group(1).split(",")]
bad = 0
assert st["run"]["status"] == "succeeded", st["run"]
assert len(st["steps"]) == 30, len(st["steps"])
ok_line = {}
for s in st["steps"]:
    sid = s["id"]
    if s["state"] != "succeeded":
        print("not succeeded:", sid, s["state"]); bad += 1; continue
    if s["outputs"].get("k") != sid:
        print("outputs of", sid, s["outputs"]); bad += 1
    runs = pos.get(sid, [])
    # The attempt recorded as the success is the last attempt that ran.
    att = max(a for a, _ in runs) if runs else None
    if att is None or att > s["attempts"]:
        print("ledger/status disagree on", sid, runs, s["attempts"]); bad += 1; continue
    lines = [i for a, i in runs if a == att]
    if len(lines) != 1:
        print("attempt", att, "of", sid, "ran", len(lines), "times"); bad += 1
    ok_line[sid] = lines[0]
    # No line of this step after its successful attempt's line.
    if max(i for _, i in runs) != lines[0]:
        print(sid, "ran again after its successful attempt"); bad += 1
for sid, deps in needs.items():
    for d in deps:
        if sid in ok_line and d in ok_line and ok_line[d] > ok_line[sid]:
            print(sid, "started before its dependency", d, "succeeded"); bad += 1
sys.exit(1 if bad else 0)
PY
# Each succeeded attempt is recorded exactly once as succeeded.
expect_eq "one success per step" "$(q "select count(*) from attempts where result='succeeded'")" 30
expect_eq "integrity" "$(q 'PRAGMA integrity_check')" ok
if [[ $failures -ne 0 ]]; then
  tail -40 log.err
fi
finish
