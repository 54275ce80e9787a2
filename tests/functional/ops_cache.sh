#!/usr/bin/env bash
# ops_cache.sh: the step cache across runs (SPEC §6) — hits, misses on a spec
# change and on an input file change, a DURATION that expires, cache off by
# default and with `cache: false`, cached_from in `status`, and plan's view.
source "$(dirname "$0")/lib/engine.bash"

cat >gen.sh <<'SH'
echo "gen $1" >> "$LEDGER"
echo "v=$1-$$" >> "$SMFLOW_OUTPUT"
SH
printf 'a,b\n1,2\n' >data.csv
cat >p.yaml <<'YAML'
smflow: 1
name: cache
params:
  n: 1
steps:
  a:
    run: "sh gen.sh ${params.n}"
    cache: true
  b:
    run: "echo b >> $LEDGER; echo rows=$(wc -l < data.csv) >> $SMFLOW_OUTPUT; cat data.csv > /dev/null"
    cache: 1h
  c:
    needs: [a]
    run: "echo c >> $LEDGER; echo got=${steps.a.v} >> $SMFLOW_OUTPUT"
    cache: false
  d:
    run: "echo d >> $LEDGER"
  e:
    run: "echo e >> $LEDGER"
    cache: 2s
  f:
    run: "mkdir -p outdir && echo fixed > outdir/f.txt && echo f >> $LEDGER"
    cache: true
YAML
export LEDGER=$T/ledger

run_ids() { "$SMFLOW" --state-dir "$T/state" runs --json | python3 -c 'import json,sys; print(" ".join(r["id"] for r in json.load(sys.stdin)["runs"]))'; }

sm run p.yaml
expect_eq "first run" "$rc" 0
expect_eq "first run ran everything" "$(sort ledger | tr '\n' ' ')" "b c d e f gen 1 "
r1=$(run_ids)
a_v=$(step_field a outputs.v)

: >ledger
sm run p.yaml
expect_eq "second run" "$rc" 0
expect_eq "only uncached steps ran" "$(sort ledger | tr '\n' ' ')" "c d "
expect_eq "a cached_from" "$(step_field a cached_from)" "$r1/a/1"
expect_eq "b cached_from" "$(step_field b cached_from)" "$r1/b/1"
expect_eq "e cached within 2s" "$(step_field e cached_from)" "$r1/e/1"
# f wrote the file its command names: stored under the key computed after the run too.
expect_eq "f cached although it wrote its input" "$(step_field f cached_from)" "$r1/f/1"
expect_eq "a's outputs reused" "$(step_field a outputs.v)" "$a_v"
expect_eq "c saw the cached output" "$(step_field c outputs.got)" "$a_v"
expect_eq "a succeeded" "$(step_field a state)" succeeded
expect_eq "cached step has no attempt" "$(step_field a attempts)" 0
expect_eq "c not cached" "$(step_field c cached_from)" None
expect_eq "d not cached (default off)" "$(step_field d cached_from)" None
sm status
expect_contains "status shows cached_from" "$(cat out)" "cached_from=$r1/a/1"
r2=$(run_ids | cut -d' ' -f1)
expect_eq "cached event" "$(q "select count(*) from events where run_id='$r2' and type='cached'")" 4

# An input file changes: b runs again, a stays cached.
printf 'a,b\n1,2\n3,4\n' >data.csv
: >ledger
sleep 2.1  # and e's 2s bound expires
sm run p.yaml
expect_eq "third run" "$rc" 0
expect_eq "changed input and expired entry ran" "$(sort ledger | tr '\n' ' ')" "b c d e "
expect_eq "b rows" "$(step_field b outputs.rows)" 3
expect_eq "a still cached" "$(step_field a cached_from)" "$r1/a/1"

# The spec changes (a parameter in the command): a runs; the script changing does too.
: >ledger
sm run p.yaml --param n=2
expect_eq "param run" "$rc" 0
expect_contains "a ran for n=2" "$(cat ledger)" "gen 2"
echo "# changed" >>gen.sh
: >ledger
sm run p.yaml --param n=2
expect_contains "a ran after its script changed" "$(cat ledger)" "gen 2"
: >ledger
sm run p.yaml --param n=2
expect_eq "then cached again" "$(grep -c gen ledger)" 0

# plan agrees with what a run would do.
sm plan p.yaml --param n=2 --json
expect_eq "plan exit" "$rc" 0
expect_eq "plan actions" "$(python3 -c 'import json,sys; print(" ".join(s["id"]+"="+s["action"] for s in json.load(open(sys.argv[1]))["steps"][:4]))' out)" \
  "a=cached b=cached c=run d=run"
sm plan p.yaml --param n=3 --json
expect_contains "plan: new spec is a miss" "$(cat out)" '"action": "run"'
finish
