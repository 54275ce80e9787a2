# qa2_failure_message.sh: a script that exits non-zero without writing
# output/failure gets the SageMaker training toolkit's own message there and as
# the failure reason: ExitCode, ErrorMessage from the first line naming a
# Python exception (lines stripped, later ones after "\n "), ExtraInfo for a
# process killed by SIGKILL (137), and the Command that ran.
source "$(dirname "$0")/lib/steps.bash"

mkdir -p code data
printf '1\n' >data/x.csv
cat >code/crash.py <<'PY'
import sys
print("Error rate is fine, still training")
print("loss=0.5", flush=True)
raise ValueError("bad shape: (3, 4)")
PY
cat >code/quiet.py <<'PY'
import sys
print("giving up")
sys.exit(3)
PY
cat >code/oom.py <<'PY'
import os, signal
os.kill(os.getpid(), signal.SIGKILL)
PY
cat >p.yaml <<'Y'
smflow: 1
name: failure-message
steps:
  crash:
    fit: {entry_point: crash.py, source_dir: code, inputs: data, instance_type: ml.m5.large,
          hyperparameters: {epochs: 2}}
  quiet:
    fit: {entry_point: quiet.py, source_dir: code, inputs: data, instance_type: ml.m5.large}
  oom:
    fit: {entry_point: oom.py, source_dir: code, inputs: data, instance_type: ml.m5.large}
Y
sm run p.yaml
expect_eq "run exit" "$rc" 1
msg=$(step_field crash error.message)
want='ExecuteUserScriptError:
ExitCode 1
ErrorMessage "raise ValueError("bad shape: (3, 4)")
 ValueError: bad shape: (3, 4)"
Command "python3 crash.py --epochs 2"'
expect_eq "crash reason" "$msg" "$want"
expect_eq "crash class" "$(step_field crash error.class)" AlgorithmError
job=$(step_field crash remote_name)
expect_eq "crash output/failure" "$(cat "$T/state/jobs/$job/algo-1/output/failure")" "$want"
expect_eq "no error line: empty ErrorMessage" "$(step_field quiet error.message)" \
  'ExecuteUserScriptError:
ExitCode 3
ErrorMessage ""
Command "python3 quiet.py"'
expect_eq "killed: ExtraInfo" "$(step_field oom error.message)" \
  'ExecuteUserScriptError:
ExitCode 137
ErrorMessage ""
ExtraInfo "OutOfMemory: Process killed by SIGKILL (signal 9)"
Command "python3 oom.py"'
finish
