# aws.bash: the start shared by the functional tests that run against moto
# (sourced, not a test).
#
#   aws_test_init NAME TOOL...  sets src (SMF_SOURCE_DIR), smflow (SMFLOW, when
#                               set) and tmp (a new directory); everything in
#                               pids is killed and reaped, and tmp removed, at
#                               exit; fails naming the first TOOL missing;
#                               unsets the proxy variables (the tests talk to
#                               127.0.0.1 only).
#   aws_test_moto DIR [tls]     starts moto_server with signature checking
#                               (tests/tools/moto_up.sh; files in DIR; `tls`:
#                               https with a throwaway CA in AWS_CA_BUNDLE),
#                               exports its variables and adds it to pids.
set -euo pipefail

aws_test_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}

aws_test_init() {
  local name=$1 tool
  shift
  src=${SMF_SOURCE_DIR:?}
  smflow=${SMFLOW:-}
  tmp=$(mktemp -d)
  pids=()
  trap aws_test_cleanup EXIT
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$name: $tool not installed" >&2; exit 1; }
  done
  unset HTTP_PROXY HTTPS_PROXY http_proxy https_proxy ALL_PROXY all_proxy
}

aws_test_moto() {
  local out
  if [ "${2:-}" = tls ]; then
    out=$(SMF_MOTO_TLS=1 "$src/tests/tools/moto_up.sh" "$1")
  else
    out=$("$src/tests/tools/moto_up.sh" "$1")
  fi
  eval "$out"
  pids+=("$SMF_MOTO_PID")
}
