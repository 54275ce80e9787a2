#!/usr/bin/env bash
# modules.sh: the archive code lives in smflow-archive.so and the HTTP client
# in smflow-http.so, loaded on first use (include/smflow/module.h). A command
# that packs and calls nothing maps neither libarchive nor libcurl; an upload loads the module from the build tree, from the
# installed layout (BIN/../lib/smflow) or from $SMFLOW_MODULE_DIR alone; a
# missing module or a file that is not one fails the step with a message that
# names the module and every place looked at. smflow-jobhost, the host process
# of a local job, is found the same way: `cmake --install` puts it in
# lib/smflow next to the modules, where the installed binary finds it.
source "$(dirname "$0")/lib/engine.bash"
if ldd "$SMFLOW" | grep -q libasan; then echo "skipped: sanitizer build"; exit 0; fi

mkdir -p code && echo 'print(1)' >code/train.py
cat >p.yaml <<'YAML'
smflow: 1
name: modules
steps:
  code:
    upload: {source_dir: code, to: "s3://bucket/code/"}
YAML

# No libarchive at start: `validate` never maps it.
maps=$(strace -f -e trace=openat "$SMFLOW" validate p.yaml 2>&1 >/dev/null)
[[ $maps == *libarchive* ]] && fail "validate mapped libarchive"
[[ $maps == *libcurl* ]] && fail "validate mapped libcurl"
[[ $maps == *smflow-archive.so* ]] && fail "validate loaded the archive module"

# The build tree's module packs the upload.
sm run p.yaml
expect_eq "run from the build tree" "$rc" 0
expect_eq "archive stored" "$(find state/store/bucket -name 'sourcedir-*.tar.gz' | wc -l)" 1

# $SMFLOW_MODULE_DIR alone: an empty directory fails the step clearly.
mkdir -p empty
rm -rf state
SMFLOW_MODULE_DIR=$T/empty sm run p.yaml
expect_eq "no module: exit" "$rc" 1
expect_contains "no module: message" "$(cat err)" "cannot load smflow's archive module ($T/empty/smflow-archive.so: not found)"

# A shared object that is not a module.
mkdir -p fake
echo 'int not_a_module = 1;' >fake.c
cc -shared -fPIC -o fake/smflow-archive.so fake.c
rm -rf state
SMFLOW_MODULE_DIR=$T/fake sm run p.yaml
expect_eq "not a module: exit" "$rc" 1
expect_contains "not a module: message" "$(cat err)" "$T/fake/smflow-archive.so: no module table in it"

# The installed layout: BIN/../lib/smflow next to a copy of the binary.
mkdir -p inst/bin inst/lib/smflow
cp "$SMFLOW" inst/bin/smflow
cp "$(dirname "$SMFLOW")/modules/smflow-archive.so" inst/lib/smflow/
rm -rf state
opened=$(strace -f -e trace=openat -o trace.txt inst/bin/smflow --state-dir state run p.yaml 2>&1; grep 'smflow-archive.so' trace.txt | grep -v ENOENT)
expect_contains "installed module loaded" "$opened" "inst/bin/../lib/smflow/smflow-archive.so"
expect_eq "installed run" "$(q "select status from runs")" succeeded

# The http module from $SMFLOW_MODULE_DIR alone: a lua step's request fails
# with the loader's message when it is missing.
http_probe_pipeline
rm -rf state
SMFLOW_MODULE_DIR=$T/empty sm run h.yaml
expect_eq "no http module: exit" "$rc" 1
expect_contains "no http module: message" "$(cat err)" "cannot load smflow's http module ($T/empty/smflow-http.so: not found)"
# `cmake --install`: the modules and smflow-jobhost in PREFIX/lib/smflow; a
# local fit of the installed binary runs under the installed smflow-jobhost.
if [[ -n ${SMF_BUILD_DIR:-} ]]; then
  cmake --install "$SMF_BUILD_DIR" --prefix "$T/prefix" >install.out 2>&1 ||
    fail "cmake --install: $(tail -5 install.out)"
  for f in smflow-archive.so smflow-http.so smflow-jobhost; do
    [[ -f prefix/lib/smflow/$f ]] || fail "not installed: lib/smflow/$f"
  done
  [[ -x prefix/lib/smflow/smflow-jobhost ]] || fail "installed smflow-jobhost is not executable"
  cp "$SMF_SOURCE_DIR/tests/data/local/sleep_train.py" code/
  cat >f.yaml <<'YAML'
smflow: 1
name: installed-fit
steps:
  train:
    fit:
      entry_point: sleep_train.py
      source_dir: code
      instance_type: ml.m5.large
      hyperparameters: {seconds: 1}
      output_path: "s3://bucket/models/"
YAML
  rm -rf state
  prefix/bin/smflow --state-dir state run f.yaml >fit.out 2>fit.err &
  smf=$!
  host=
  for _ in $(seq 1 200); do
    [[ -f $(echo state/jobs/*/intent.json) ]] && break
    sleep 0.05
  done
  host=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["hosts"][0]["pid"])' \
    state/jobs/*/intent.json 2>/dev/null)
  expect_eq "installed jobhost runs the job" "$(readlink "/proc/${host:-0}/exe")" \
    "$T/prefix/lib/smflow/smflow-jobhost"
  wait $smf
  expect_eq "installed fit" "$(q "select status from runs")" succeeded
fi
finish
