# qa2fix_framework_check.sh: framework + framework_version + py_version that the
# SDK's image_uris.retrieve does not support are a FILE:LINE:COL diagnostic at the
# offending node naming what is supported, exit 2, for `validate` and `run`, on
# both targets, for fit (training images) and evaluate/register/deploy
# (inference images); supported combinations and run-time values pass.
source "$(dirname "$0")/lib/steps.bash"

write() {  # write FILE TARGET FRAGMENT...
  local f=$1 tgt=$2
  shift 2
  { printf 'smflow: 1\nname: fwcheck\ntarget: %s\nsteps:\n' "$tgt"; printf '%s\n' "$@"; } >"$f"
}

for tgt in local aws; do
  write bad_ver.yaml $tgt '  train:' '    fit:' '      entry_point: t.py' \
    '      instance_type: ml.m5.large' '      framework: pytorch' '      framework_version: "9.9"'
  sm validate bad_ver.yaml
  expect_eq "$tgt bad version exit" "$rc" 2
  expect_contains "$tgt bad version at the node" "$(cat "$T/err")" "bad_ver.yaml:10:26: step 'train': unsupported pytorch version: 9.9"
  expect_contains "$tgt names what is supported" "$(cat "$T/err")" "Supported pytorch versions: "
  expect_contains "$tgt supported list" "$(cat "$T/err")" "2.1"

  write bad_py.yaml $tgt '  train:' '    fit:' '      entry_point: t.py' \
    '      instance_type: ml.m5.large' '      framework: pytorch' '      framework_version: "2.1"' \
    '      py_version: py27'
  sm validate bad_py.yaml
  expect_eq "$tgt bad py exit" "$rc" 2
  expect_contains "$tgt bad py at the node" "$(cat "$T/err")" "bad_py.yaml:11:19: step 'train': unsupported pytorch Python version: py27. Supported: py310"

  write good.yaml $tgt '  train:' '    fit:' '      entry_point: t.py' \
    '      instance_type: ml.m5.large' '      framework: pytorch' '      framework_version: "2.1"' \
    '      py_version: py310' '  late:' '    fit:' '      entry_point: t.py' \
    '      instance_type: ml.m5.large' '      framework: pytorch' '      framework_version: "${params.v}"'
  sed -i 's/^steps:/params: {v: "9.9"}\nsteps:/' good.yaml
  sm validate good.yaml
  expect_eq "$tgt supported / run-time version passes" "$rc" 0
done

# Inference images: deploy, register, evaluate.
write deploy.yaml local '  dep:' '    deploy:' '      model_data: s3://bkt/model.tar.gz' \
  '      endpoint: ep' '      instance_type: ml.m5.large' '      framework: sklearn' \
  '      framework_version: "0.1"' '      entry_point: inference.py'
sm validate deploy.yaml
expect_eq "deploy exit" "$rc" 2
expect_contains "deploy at the node" "$(cat "$T/err")" "deploy.yaml:11:26: step 'dep': unsupported sklearn version: 0.1"

write register.yaml local '  reg:' '    register:' '      model_package_group: grp' \
  '      model_data: s3://bkt/model.tar.gz' '      framework: xgboost' '      framework_version: "0.1"'
sm validate register.yaml
expect_eq "register exit" "$rc" 2
expect_contains "register at the node" "$(cat "$T/err")" "register.yaml:10:26: step 'reg': unsupported xgboost version: 0.1"

# `run` refuses before running anything.
mkdir -p code
printf 'print(1)\n' >code/t.py
write run.yaml local '  train:' '    fit:' '      entry_point: t.py' '      source_dir: code' \
  '      instance_type: ml.m5.large' '      framework: tensorflow' '      framework_version: "0.0.1"'
sm run run.yaml
expect_eq "run exit" "$rc" 2
expect_contains "run diagnostic" "$(cat "$T/err")" "run.yaml:11:26: step 'train': unsupported tensorflow version: 0.0.1"
finish
