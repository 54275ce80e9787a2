# steps.bash: helpers for the step kinds' functional tests (sourced, not a test).
# On top of engine.bash: the quickstart copied into the test directory, and
# every model server an endpoint started is stopped when the test ends.
source "$(dirname "${BASH_SOURCE[0]}")/engine.bash"
SRC=${SMF_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}

# Stop the servers of every endpoint recorded in the test's state database.
stop_endpoints() {
  local pid
  if [[ -f $T/state/state.db ]]; then
    for pid in $(sqlite3 "$T/state/state.db" "SELECT pid FROM endpoints" 2>/dev/null); do
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    done
  fi
  for pid in ${EXTRA_PIDS:-}; do
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
  done
}
trap 'stop_endpoints; rm -rf "$T"' EXIT

# quickstart_copy DIR: the quickstart example, its scripts and sample, in DIR.
quickstart_copy() {
  mkdir -p "$1"
  cp -r "$SRC/examples/quickstart/." "$1/"
  rm -rf "$1/.smflow" "$1/data"
}

# wait_gone PID [TRIES]: wait until the process has ended (0) or give up (1).
wait_gone() {
  local i
  for ((i = 0; i < ${2:-100}; i++)); do
    alive "$1" || return 0
    sleep 0.05
  done
  return 1
}
