# qa2_metric_regex.sh: metric_definitions as SageMaker users write them (the
# Perl/Java regex style of the SageMaker SDK's and AWS's examples): `\d`, lazy
# `.*?`, `(?:...)`, escapes inside brackets, `\S`/`\s`; the first capturing group
# of the last matching line of algo-1 is the metric. A regex without a capturing
# group reports nothing, and says so.
source "$(dirname "$0")/lib/steps.bash"

mkdir -p code data
printf '1\n' >data/x.csv
cat >code/train.py <<'PY'
print("epoch 1 loss: 2.5 Train_error=0.5; Test-accuracy=0.75;")
print("epoch 2 loss: 1.5e-03 Train_error=0.125; Test-accuracy=0.875; val_acc\t0.91")
print("#quality_metric: host=algo-1, train mse <loss>=12.5")
print("step=3 lr=1e-4 rate=-7")
print("digits ddd only")
PY
cat >p.yaml <<'Y'
smflow: 1
name: metric-regex
steps:
  train:
    fit:
      entry_point: train.py
      source_dir: code
      inputs: data
      instance_type: ml.m5.large
      metric_definitions:
        - {name: "train:error", regex: "Train_error=(.*?);"}
        - {name: "test:acc", regex: "Test-accuracy=(.*?);"}
        - {name: loss, regex: "loss: (\\d+(?:\\.\\d+)?(?:e[-+]?\\d+)?)"}
        - {name: val_acc, regex: "val_acc\\t(\\S+)"}
        - {name: mse, regex: "#quality_metric: host=\\S+, train mse <loss>=(\\S+)"}
        - {name: lr, regex: "lr=([\\d\\.e\\-]+)"}
        - {name: rate, regex: "rate=([\\-\\d]+)"}
        - {name: epoch, regex: "epoch (\\d+)\\s"}
        - {name: digits, regex: "(\\d+)"}
        - {name: nogroup, regex: "loss: \\d+"}
Y
sm run p.yaml
expect_eq "run exit" "$rc" 0
metrics=$(step_field train outputs.metrics)
want='{"train:error": 0.125, "test:acc": 0.875, "loss": 0.0015, "val_acc": 0.91, "mse": 12.5, "lr": 0.0001, "rate": -7.0, "epoch": 2.0, "digits": 3.0}'
got=$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1]), sort_keys=True))' "$metrics")
want=$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1]), sort_keys=True))' "$want")
expect_eq "metrics" "$got" "$want"
expect_contains "no capturing group is reported" "$(cat "$T/err")" "metric 'nogroup'"
finish
