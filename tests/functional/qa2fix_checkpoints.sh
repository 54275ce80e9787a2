# qa2fix_checkpoints.sh: a fit's checkpoint_local_path (default
# /opt/ml/checkpoints) is mapped into each host's job directory (never the real
# /opt/ml), given to the script as SMFLOW_CHECKPOINT_DIR; what is under
# checkpoint_s3_uri is there when the script starts, and the directory goes back
# to checkpoint_s3_uri when the job ends - a failed job's too.
source "$(dirname "$0")/lib/steps.bash"

mkdir -p code data "$T/state/store/smflow-test/ckpt" "$T/state/store/smflow-test/ckpt-other"
printf '1\n' >data/x.csv
printf 'epoch 1\n' >"$T/state/store/smflow-test/ckpt/epoch-1.txt"
printf 'not mine\n' >"$T/state/store/smflow-test/ckpt-other/stray.txt"
cat >code/ckpt.py <<'PY'
import os, sys
d = os.environ["SMFLOW_CHECKPOINT_DIR"]
root = os.path.dirname(os.environ["SM_MODEL_DIR"])
problems = []
if d != os.path.join(root, os.environ["WANT_REL"]):
    problems.append("checkpoint dir %s, want %s/%s" % (d, root, os.environ["WANT_REL"]))
if not os.path.isdir(d):
    problems.append("checkpoint dir missing")
want = sorted(os.environ["WANT_FILES"].split())
have = sorted(os.path.relpath(os.path.join(a, f), d) for a, _, fs in os.walk(d) for f in fs)
if have != want:
    problems.append("checkpoint files %r, want %r" % (have, want))
else:
    os.makedirs(os.path.join(d, "sub"), exist_ok=True)
    open(os.path.join(d, "sub", os.environ["WRITE"]), "w").write("saved\n")
if problems:
    open(os.path.join(os.environ["SM_OUTPUT_DIR"], "failure"), "w").write("; ".join(problems))
    sys.exit(1)
sys.exit(int(os.environ.get("EXIT", "0")))
PY
cat >p.yaml <<'Y'
smflow: 1
name: checkpoints
x-fit: &fit
  entry_point: ckpt.py
  source_dir: code
  inputs: data
  instance_type: ml.m5.large
steps:
  synced:
    fit:
      <<: *fit
      checkpoint_s3_uri: s3://smflow-test/ckpt
      environment: {WANT_REL: checkpoints, WANT_FILES: epoch-1.txt, WRITE: a.txt}
  custom:
    needs: [synced]
    fit:
      <<: *fit
      checkpoint_s3_uri: s3://smflow-test/ckpt/
      checkpoint_local_path: /opt/ml/my-ckpt
      environment: {WANT_REL: my-ckpt, WANT_FILES: "epoch-1.txt sub/a.txt", WRITE: b.txt}
  plain:
    fit:
      <<: *fit
      environment: {WANT_REL: checkpoints, WANT_FILES: "", WRITE: c.txt}
Y
sm run p.yaml
expect_eq "run exit" "$rc" 0
for s in synced custom plain; do
  expect_eq "$s" "$(step_field $s state)" succeeded
  [[ $(step_field $s state) == succeeded ]] || step_field $s error.message
done
store=$T/state/store/smflow-test
expect_eq "uploaded" "$(cd "$store/ckpt" && find . -type f | sort | tr '\n' ' ')" \
  "./epoch-1.txt ./sub/a.txt ./sub/b.txt "
job=$(step_field plain remote_name)
[[ -f $T/state/jobs/$job/algo-1/checkpoints/sub/c.txt ]] || fail "plain: checkpoints in the job directory"

# A failed job's checkpoints are uploaded too.
cat >f.yaml <<'Y'
smflow: 1
name: checkpoints-fail
steps:
  failing:
    fit:
      entry_point: ckpt.py
      source_dir: code
      inputs: data
      instance_type: ml.m5.large
      checkpoint_s3_uri: s3://smflow-test/ckpt-fail
      environment: {WANT_REL: checkpoints, WANT_FILES: "", WRITE: d.txt, EXIT: "2"}
Y
sm run f.yaml
expect_eq "failing run exit" "$rc" 1
[[ -f $store/ckpt-fail/sub/d.txt ]] || fail "failed job: checkpoints uploaded"
finish
