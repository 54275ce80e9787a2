#!/usr/bin/env bash
# run_direct_exec.sh: a `run` step's string command without shell syntax runs
# its program directly (its parent is smflow, not /bin/sh), with the step's env
# and workdir; shell syntax still goes through /bin/sh; a missing program fails
# exactly as it did through the shell (status 127, the shell's message); a
# program killed by a signal reads as the shell reported it (128 + N); a
# timeout stops it; after kill -9 of smflow, resume kills the leftover process
# (found by its attempt marker) and runs a new attempt.
source "$(dirname "$0")/lib/engine.bash"
mkdir -p sub
cat >sub/probe.py <<'PY'
import os, sys
ppid = os.getppid()
comm = open("/proc/%d/comm" % ppid).read().strip()
with open(os.environ["SMFLOW_OUTPUT"], "a") as f:
    f.write("parent=%s\n" % comm)
    f.write("argv=%s\n" % "|".join(sys.argv[1:]))
    f.write("cwd=%s\n" % os.path.basename(os.getcwd()))
    f.write("greeting=%s\n" % os.environ.get("GREETING", ""))
PY
cat >sub/die.py <<'PY'
import os, signal
os.kill(os.getpid(), signal.SIGKILL)
PY
cat >sub/exit3.py <<'PY'
import sys
print("about to fail", file=sys.stderr)
sys.exit(3)
PY
cat >sub/slow.py <<'PY'
import os, time
open(os.environ["PIDFILE"], "w").write(str(os.getpid()))
if os.environ.get("SMFLOW_ATTEMPT") == "1":
    time.sleep(60)
PY

cat >p.yaml <<'YAML'
smflow: 1
name: direct
steps:
  simple:
    run: {command: "python3 probe.py --lr=0.1  a,b", workdir: sub, env: {GREETING: hello}}
  shell:
    run: {command: "python3 probe.py x > /dev/null; echo via=$((1 + 2)) >> $SMFLOW_OUTPUT", workdir: sub}
  missing: {run: "nosuchprog_qsgap --flag"}
  missing_sh: {run: "nosuchprog_qsgap --flag;"}
  killed: {run: {command: "python3 die.py", workdir: sub}}
  killed_sh: {run: {command: "python3 die.py;", workdir: sub}}
  failed: {run: {command: "python3 exit3.py", workdir: sub}}
YAML
sm run p.yaml
expect_eq "exit (some steps fail)" "$rc" 1
expect_eq "simple: parent is smflow" "$(step_field simple outputs.parent)" smflow
expect_eq "simple: words" "$(step_field simple outputs.argv)" "--lr=0.1|a,b"
expect_eq "simple: workdir" "$(step_field simple outputs.cwd)" sub
expect_eq "simple: env" "$(step_field simple outputs.greeting)" hello
expect_eq "shell: parent is the shell" "$(step_field shell outputs.parent)" sh
expect_eq "shell: shell syntax works" "$(step_field shell outputs.via)" 3
expect_eq "missing: state" "$(step_field missing state)" failed
expect_contains "missing: 127" "$(step_field missing error.message)" "status 127"
expect_contains "missing: the shell's message" "$(step_field missing error.message)" \
  "nosuchprog_qsgap: not found"
expect_eq "missing: same message as through the shell" "$(step_field missing error.message)" \
  "$(step_field missing_sh error.message)"
expect_eq "missing: class" "$(step_field missing error.class)" AlgorithmError
expect_eq "killed: as the shell reports it" "$(step_field killed error.message)" \
  "$(step_field killed_sh error.message)"
expect_eq "killed: 137" "$(step_field killed error.message)" "command exited with status 137: Killed"
expect_eq "failed: status and stderr" "$(step_field failed error.message)" \
  "command exited with status 3: about to fail"

# A timeout stops a directly run program (SIGTERM to its process group).
cat >t.yaml <<YAML
smflow: 1
name: slow
steps:
  slow: {run: {command: "python3 slow.py", workdir: sub, env: {PIDFILE: $T/slow.pid}}, timeout: 1s}
YAML
sm run t.yaml
expect_eq "timeout: exit" "$rc" 1
expect_eq "timeout: class" "$(step_field slow error.class)" Timeout
pid=$(cat slow.pid)
for _ in $(seq 50); do alive "$pid" || break; sleep 0.05; done
alive "$pid" && fail "timeout: the program still runs"

# kill -9 of smflow while the program runs: resume kills it and starts attempt 2.
rm -f slow.pid
cat >k.yaml <<YAML
smflow: 1
name: crash
steps:
  slow: {run: {command: "python3 slow.py", workdir: sub, env: {PIDFILE: $T/slow.pid}}}
YAML
"$SMFLOW" --state-dir "$T/state2" run k.yaml >/dev/null 2>&1 &
smf=$!
for _ in $(seq 100); do [[ -s slow.pid ]] && break; sleep 0.05; done
[[ -s slow.pid ]] || fail "crash: the program did not start"
first=$(cat slow.pid)
expect_eq "crash: parent is smflow" "$(cat /proc/"$(awk '{print $4}' /proc/"$first"/stat)"/comm)" smflow
{
  kill -9 "$smf"
  wait "$smf"
} 2>/dev/null
alive "$first" || fail "crash: the program died with smflow (it should be orphaned)"
rm -f slow.pid
"$SMFLOW" --state-dir "$T/state2" resume >"$T/out" 2>"$T/err"
expect_eq "crash: resume" "$?" 0
alive "$first" && fail "crash: resume left the first attempt's program running"
expect_contains "crash: resume killed the leftover" "$(cat "$T/err")" "killed 1 leftover process"
[[ -s slow.pid && $(cat slow.pid) != "$first" ]] || fail "crash: resume did not run a new attempt"
finish
