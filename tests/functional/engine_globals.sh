#!/usr/bin/env bash
# engine_globals.sh: params, vars (evaluated once, in order, persisted: resume
# sees the same values), run {id, name, timestamp}, env and git as expression
# globals; an error in vars is a pipeline error (exit 2).
source "$(dirname "$0")/lib/engine.bash"

mkdir repo && cd repo
git init -q . && git config user.email t@example.com && git config user.name t
cat >p.yaml <<YAML
smflow: 1
name: globals
params: {n: 3, word: hi}
vars:
  first: "\${params.word}-\${params.n * 2}"
  second: "\${vars.first}/\${run.name}"
  clock: "\${os.clock() + os.time()}"
steps:
  a:
    run: "echo vars=\${vars.second} >> \$SMFLOW_OUTPUT; echo id=\${run.id} >> \$SMFLOW_OUTPUT; echo ts=\${run.timestamp} >> \$SMFLOW_OUTPUT; echo home=\${env.SMF_TEST_HOME} >> \$SMFLOW_OUTPUT; echo sha=\${git.short_sha} >> \$SMFLOW_OUTPUT; echo clock=\${vars.clock} >> \$SMFLOW_OUTPUT"
  b:
    needs: [a]
    run: "echo b-start >> $T/ledger; sleep 2; echo clock=\${vars.clock} >> \$SMFLOW_OUTPUT"
YAML
git add p.yaml && git commit -qm init
sha=$(git rev-parse --short=7 HEAD)
cd "$T"
export SMF_TEST_HOME=/somewhere
"$SMFLOW" --state-dir state run repo/p.yaml >bg.out 2>bg.err &
pid=$!
for _ in $(seq 1 100); do grep -q b-start ledger 2>/dev/null && break; sleep 0.05; done
kill -INT $pid 2>/dev/null || cat bg.err
wait $pid
expect_eq "interrupted" "$?" 3
expect_eq "vars in order" "$(step_field a outputs.vars)" "hi-6/globals"
run_id=$(step_field a outputs.id)
expect_eq "run.id is the run's id" "$(q 'select id from runs')" "$run_id"
expect_eq "run.timestamp prefixes the id" "${run_id:0:15}" "$(step_field a outputs.ts)"
expect_eq "env" "$(step_field a outputs.home)" /somewhere
expect_eq "git.short_sha" "$(step_field a outputs.sha)" "$sha"
sleep 1.1
sm resume
expect_eq "resume" "$rc" 0
expect_eq "vars kept across resume" "$(step_field b outputs.clock)" "$(step_field a outputs.clock)"

# Outside a repository git is an empty table; a bad var is a pipeline error.
cat >bad.yaml <<YAML
smflow: 1
name: badvars
vars: {x: "\${params.missing.field}"}
steps:
  a: {run: "echo ran >> $T/ledger2"}
YAML
sm run bad.yaml
expect_eq "error in vars" "$rc" 2
[[ -e ledger2 ]] && fail "a step ran although vars failed"
expect_contains "vars error names the file" "$(cat err)" "bad.yaml:3"
finish
