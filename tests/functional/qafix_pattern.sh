#!/usr/bin/env bash
# qafix_pattern.sh: a pattern whose matching would run for ages is refused at
# once with a clear error; ordinary patterns still work.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<'YAML'
smflow: 1
name: pattern
steps:
  ok:
    run: >-
      echo "m=${("key=value"):match("^(%w+)=")}|${("a,b,,c"):gsub(",+", ";")}|${#(string.rep("a", 1e5):find("a", 1, true) and "x" or "")}|${string.rep("ab", 5000):find("b+$")}|${("  trim  "):match("^%s*(.-)%s*$")}" >> $SMFLOW_OUTPUT
  slow:
    run: "echo ${#(string.rep('a', 1e5):find('.-.-.-.-b') or '')}"
YAML
start=$(date +%s)
timeout -s KILL 15 "$SMFLOW" --state-dir "$T/state" run p.yaml >out 2>err
rc=$?
elapsed=$(($(date +%s) - start))
expect_eq "exit" "$rc" 1
if ((elapsed > 10)); then
  fail "the runaway pattern took ${elapsed}s"
fi
expect_eq "ordinary patterns" "$(step_field ok outputs.m)" "key|a;b;c|1|10000|trim"
expect_eq "slow failed" "$(step_field slow state)" failed
expect_contains "clear error" "$(step_field slow error.message)" "too costly"
finish
