#!/usr/bin/env bash
# engine_first_wave.sh: the prepare hooks (code packed when the run starts) run
# once the first pump has started the first steps, so that those steps' own
# work goes first:
# - a fit and an evaluate of the first wave (no needs) start without a prepared
#   archive: each packs its code when it starts, the job sees all of it, and
#   nothing is left in STATE_DIR/tmp;
# - a step that is ready in the first pump but waits for a slot
#   (--max-parallel 1) is still prepared: its stored archive was written before
#   it started, with the same bytes as one packed when the step starts;
# - a step behind a dependency is prepared as before.
source "$(dirname "$0")/lib/engine.bash"
mkdir -p code models m
cat >code/train.py <<'PY'
import json, os
import helper
out = os.environ["SM_MODEL_DIR"]
json.dump({"value": helper.VALUE}, open(os.path.join(out, "model.json"), "w"))
print("loss=0.5")
PY
cat >code/evaluate.py <<'PY'
import argparse, json, os
import helper
p = argparse.ArgumentParser()
p.add_argument("--model-dir"); p.add_argument("--output-dir")
a = p.parse_args()
here = sorted(os.listdir(os.path.dirname(os.path.abspath(__file__))))
json.dump({"files": len(here), "value": helper.VALUE},
          open(os.path.join(a.output_dir, "evaluation.json"), "w"))
PY
echo 'VALUE = 7' >code/helper.py
echo '{"w": 1}' >m/model.json
tar -czf models/model.tar.gz -C m model.json

# members ARCHIVE: its file names, sorted, without a leading ./
members() { tar -tzf "$1" | sed 's|^\./||' | grep -v '^$' | sort | tr '\n' ' '; }

cat >first.yaml <<'Y'
smflow: 1
name: first
steps:
  data: {run: "sleep 0.3"}
  train:
    fit:
      entry_point: train.py
      source_dir: code
      instance_type: ml.m5.large
      metric_definitions: [{name: loss, regex: "loss=([0-9.]+)"}]
  eval:
    evaluate: {entry_point: evaluate.py, source_dir: code, model: models/model.tar.gz}
  later:
    needs: [data]
    evaluate: {entry_point: evaluate.py, source_dir: code, model: models/model.tar.gz}
Y
sm run first.yaml
expect_eq "first wave: run" "$rc" 0
expect_eq "first wave: fit" "$(step_field train state)" succeeded
expect_eq "first wave: fit saw its code" "$(step_field train outputs.metrics.loss)" 0.5
expect_contains "first wave: fit's model" "$(step_field train outputs.model_data)" "model.tar.gz"
expect_eq "first wave: evaluate" "$(step_field eval state)" succeeded
expect_eq "first wave: evaluate saw its code" "$(step_field eval outputs.metrics.value)" 7
for s in train eval later; do
  a=$(stored_archive $s)
  [[ -f $a ]] || fail "$s: no stored archive $a"
  expect_eq "$s: archive members" "$(members "$a")" "evaluate.py helper.py train.py "
done
(($(mtime_ms "$(stored_archive eval)") >= $(started_ms eval))) ||
  fail "first wave: the evaluate's archive was written before it started (a prepared one)"
(($(mtime_ms "$(stored_archive later)") < $(started_ms later))) ||
  fail "later: the archive of a step behind a dependency was not prepared"
expect_eq "first wave: nothing left in tmp" "$(ls -A "$T/state/tmp" 2>/dev/null | wc -l)" 0

# Ready in the first pump but waiting for a slot: prepared like a later step.
rm -rf "$T/state"
cat >slot.yaml <<'Y'
smflow: 1
name: slot
params: {dir: code}
steps:
  wait: {run: "sleep 0.3"}
  eval:
    evaluate: {entry_point: evaluate.py, source_dir: code, model: models/model.tar.gz}
  eval_param:
    needs: [eval]
    evaluate: {entry_point: evaluate.py, source_dir: "${params.dir}", model: models/model.tar.gz}
Y
sm run --max-parallel 1 slot.yaml
expect_eq "slot: run" "$rc" 0
expect_eq "slot: eval" "$(step_field eval state)" succeeded
a=$(stored_archive eval) b=$(stored_archive eval_param)
[[ -f $a && -f $b ]] || fail "slot: archives stored: $a $b"
(($(started_ms eval) >= $(started_ms wait))) || fail "slot: eval started before wait"
(($(mtime_ms "$a") < $(started_ms eval))) ||
  fail "slot: the archive of a step waiting for a slot was not prepared"
expect_eq "slot: same bytes as packed when the step starts" "$(sha256sum <"$a")" "$(sha256sum <"$b")"
expect_eq "slot: nothing left in tmp" "$(ls -A "$T/state/tmp" | wc -l)" 0
finish
