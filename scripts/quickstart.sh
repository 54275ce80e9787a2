#!/usr/bin/env bash
# Fresh machine to a served model: install the dependencies, build, run the
# quickstart pipeline on the local target (upload → fit → evaluate → register
# → deploy with a smoke test), show the run and the endpoint, ask it for a
# prediction, then stop the endpoint so that nothing is left running.
#
#   bash scripts/quickstart.sh          (as root on Debian 12, for apt-get)
#   SMF_QUICKSTART_KEEP=1 bash ...      keep the endpoint running afterwards
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ ${SMF_SKIP_DEPS:-0} != 1 ]]; then
  bash scripts/install-deps.sh
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
smflow=./build/smflow
state=examples/quickstart/.smflow
"$smflow" validate examples/quickstart/pipeline.yaml

stop_endpoint() {
  if [[ ${SMF_QUICKSTART_KEEP:-0} != 1 ]]; then
    "$smflow" --state-dir "$state" endpoints delete quickstart >/dev/null 2>&1 || true
  fi
}
trap stop_endpoint EXIT

echo "== smflow run examples/quickstart/pipeline.yaml"
"$smflow" run examples/quickstart/pipeline.yaml
echo
echo "== smflow status"
"$smflow" --state-dir "$state" status
echo
echo "== smflow models list"
"$smflow" --state-dir "$state" models list
echo
echo "== smflow endpoints"
"$smflow" --state-dir "$state" endpoints
echo
echo "== smflow invoke quickstart --body examples/quickstart/sample.csv --content-type text/csv"
"$smflow" --state-dir "$state" invoke quickstart --body examples/quickstart/sample.csv \
  --content-type text/csv
echo
if [[ ${SMF_QUICKSTART_KEEP:-0} == 1 ]]; then
  echo "The endpoint keeps running; stop it with:"
  echo "  $smflow --state-dir $state endpoints delete quickstart"
else
  echo "== smflow endpoints delete quickstart"
  "$smflow" --state-dir "$state" endpoints delete quickstart
  trap - EXIT
fi
