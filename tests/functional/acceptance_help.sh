#!/usr/bin/env bash
# acceptance_help.sh: `smflow help COMMAND` explains every option its synopsis
# names, for every command of `smflow help` (an "Options:" line "  --NAME ...").
source "$(dirname "$0")/lib/engine.bash"

cmds=$("$SMFLOW" help | awk '/^Commands:/{on=1; next} /^$/{on=0} on{print $1}')
expect_contains "help lists the commands" "$cmds" "models"
for c in $cmds; do
  "$SMFLOW" help "$c" >out 2>err
  expect_eq "help $c exit" "$?" 0
  synopsis=$(sed -n '1,/^$/p' out)
  for o in $(grep -o -- '--[a-z][a-z-]*' <<<"$synopsis" | sort -u); do
    grep -qE -- "^  $o( |$)" out || fail "help $c does not explain $o"
  done
done
finish
