#!/usr/bin/env bash
# local_prepack.sh: an evaluate step's code archive is packed when the run
# starts and only moved into the store when the step starts, with the bytes
# packing at that moment would give:
# - unchanged code: the stored sourcedir.tar.gz was written before the step
#   started (it is the prepared file, renamed), and its bytes are those of a run
#   whose source_dir is not literal (`${params.dir}`, packed when the step starts);
# - code changed by an earlier step (a file added, a file rewritten): the
#   prepared archive is dropped and the step packs the code as it is then;
# - nothing is left in STATE_DIR/tmp, also for a step that never starts, and an
#   archive a dead smflow left there is removed.
source "$(dirname "$0")/lib/engine.bash"
mkdir -p code models m
cat >code/evaluate.py <<'PY'
import argparse, json, os
p = argparse.ArgumentParser()
p.add_argument("--model-dir"); p.add_argument("--output-dir")
a = p.parse_args()
here = sorted(os.listdir(os.path.dirname(os.path.abspath(__file__))))
json.dump({"files": len(here)}, open(os.path.join(a.output_dir, "evaluation.json"), "w"))
PY
echo 'VALUE = 1' >code/helper.py
echo '{"w": 1}' >m/model.json
tar -czf models/model.tar.gz -C m model.json


cat >p.yaml <<'Y'
smflow: 1
name: prepack
params: {dir: code}
steps:
  wait: {run: "sleep 0.3"}
  eval:
    needs: [wait]
    evaluate: {entry_point: evaluate.py, source_dir: code, model: models/model.tar.gz}
  eval_param:
    needs: [wait]
    evaluate: {entry_point: evaluate.py, source_dir: "${params.dir}", model: models/model.tar.gz}
  never:
    needs: [wait]
    when: "false"
    evaluate: {entry_point: evaluate.py, source_dir: code, model: models/model.tar.gz}
Y
sm run p.yaml
expect_eq "run" "$rc" 0
expect_eq "eval" "$(step_field eval state)" succeeded
expect_eq "never skipped" "$(step_field never state)" skipped
a=$(stored_archive eval) b=$(stored_archive eval_param)
[[ -f $a && -f $b ]] || fail "archives stored: $a $b"
expect_eq "same bytes as packed when the step starts" "$(sha256sum <"$a")" "$(sha256sum <"$b")"
(($(mtime_ms "$a") < $(started_ms eval))) ||
  fail "the literal source_dir's archive was not packed before its step started"
(($(mtime_ms "$b") >= $(started_ms eval_param))) ||
  fail "the \${params.dir} archive was packed before its step started"
expect_eq "nothing left in tmp" "$(ls -A "$T/state/tmp" | wc -l)" 0

# An earlier step changes the code: the step packs it as it is when it starts.
rm -rf "$T/state"
mkdir -p "$T/state/tmp"
echo stale >"$T/state/tmp/prepack-19990101-000000-dead-eval.tar.gz"
cat >c.yaml <<'Y'
smflow: 1
name: changed
steps:
  change: {run: "sleep 0.2; echo 'NEW = 2' > code/added.py; echo 'VALUE = 22' > code/helper.py"}
  eval:
    needs: [change]
    evaluate: {entry_point: evaluate.py, source_dir: code, model: models/model.tar.gz}
Y
sm run c.yaml
expect_eq "changed: run" "$rc" 0
a=$(stored_archive eval)
expect_eq "changed: the added file is packed" "$(tar -xzOf "$a" ./added.py 2>/dev/null || tar -xzOf "$a" added.py)" "NEW = 2"
expect_eq "changed: the rewritten file is packed" "$(tar -xzOf "$a" ./helper.py 2>/dev/null || tar -xzOf "$a" helper.py)" "VALUE = 22"
expect_eq "changed: the script saw it" "$(step_field eval outputs.metrics.files)" 3
(($(mtime_ms "$a") >= $(started_ms eval))) || fail "changed: the stale prepared archive was used"
expect_eq "changed: nothing left in tmp (a dead run's archive removed too)" \
  "$(ls -A "$T/state/tmp" | wc -l)" 0
finish
