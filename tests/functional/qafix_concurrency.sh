#!/usr/bin/env bash
# qafix_concurrency.sh: without `concurrency:` or --max-parallel, at most 8 steps
# run at once, as docs/pipeline-language.md says.
source "$(dirname "$0")/lib/engine.bash"

{
  echo "smflow: 1"
  echo "name: conc"
  echo "steps:"
  for i in $(seq 1 12); do
    echo "  s$i: {run: \"echo s >> $T/ledger; sleep 0.5; echo e >> $T/ledger\"}"
  done
} >p.yaml
sm run p.yaml
expect_eq "exit" "$rc" 0
max=$(awk '$1=="s"{n++; if(n>m)m=n} $1=="e"{n--} END{print m}' ledger)
expect_eq "at most 8 at once" "$max" 8
expect_contains "announced" "$(cat err)" "at most 8 at a time"
doc=$(grep '^| `concurrency`' "$SMF_SOURCE_DIR/docs/pipeline-language.md")
expect_contains "documented default" "$doc" "| 8 |"
finish
