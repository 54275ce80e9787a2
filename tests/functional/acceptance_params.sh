#!/usr/bin/env bash
# acceptance_params.sh: params are typed by their YAML default and --param
# converts its text to that type with the YAML 1.2 core rules (SPEC §3); the
# value reaches expressions with its type; a value of another type is exit 2
# naming the file's default (also after an earlier --param of the same name);
# the last --param of a name wins; resume runs with the run's own values.
source "$(dirname "$0")/lib/engine.bash"

cat >p.yaml <<'YAML'
smflow: 1
name: params
params: {n: 3, f: 0.5, b: false, s: "10", e: 1e-05}
steps:
  a:
    run: |
      echo "n=${math.type(params.n)}:${params.n}" >> "$SMFLOW_OUTPUT"
      echo "f=${math.type(params.f)}:${params.f}" >> "$SMFLOW_OUTPUT"
      echo "b=${type(params.b)}:${params.b}" >> "$SMFLOW_OUTPUT"
      echo "s=${type(params.s)}:${params.s}" >> "$SMFLOW_OUTPUT"
      echo "e=${math.type(params.e)}:${params.e}" >> "$SMFLOW_OUTPUT"
  b:
    needs: [a]
    run: 'test -f go && echo "n=${params.n}" >> "$SMFLOW_OUTPUT"'
YAML
sm run p.yaml --param n=0x10 --param f=2 --param b=True --param s=0x10 --param e=1e3
expect_eq "run fails (no go file)" "$rc" 1
expect_eq "b failed" "$(step_field b state)" failed
expect_eq "hex integer" "$(step_field a outputs.n)" "integer:16"
expect_eq "integer for a float param" "$(step_field a outputs.f)" "float:2.0"
expect_eq "YAML 1.2 boolean" "$(step_field a outputs.b)" "boolean:true"
expect_eq "string param keeps the text" "$(step_field a outputs.s)" "string:0x10"
expect_eq "exponent float" "$(step_field a outputs.e)" "float:1000.0"
touch go
sm resume
expect_eq "resume exit" "$rc" 0
expect_eq "resume keeps the run's --param values" "$(step_field b outputs.n)" 16

sm run p.yaml --param n=1 --param n=2 --only a
expect_eq "repeated --param: exit" "$rc" 0
expect_eq "the last --param wins" "$(step_field a outputs.n)" "integer:2"

for bad in n=1.5 n=1e3 n=ten b=yes b=1 f=nan; do
  sm validate p.yaml --param "$bad"
  expect_eq "--param $bad: exit" "$rc" 2
done
sm validate p.yaml --param n=1 --param n=x
expect_contains "names the file's default" "$(cat err)" "--param n=x: expected an integer like the default '3'"
sm run p.yaml --param nn=1
expect_eq "unknown param: exit" "$rc" 2
expect_contains "suggests" "$(cat err)" "unknown param (did you mean 'n'?)"
finish
