#!/usr/bin/env bash
# local_shard.sh: a fit channel with `distribution: ShardedByS3Key` gives each
# host of the local target about 1/N of the objects under the prefix, as
# SageMaker does (objects in key order, host i gets objects i, i+N, ...; a host
# may get none and then has an empty channel directory); FullyReplicated (the
# default) gives every host everything; inputdataconfig.json keeps
# S3DistributionType as given. Each host lists its channel into LIST_DIR.
source "$(dirname "$0")/lib/steps.bash"

mkdir -p code four/c two lists
for f in a.csv b.csv c/d.csv e.csv; do printf '%s\n' "$f" >"four/$f"; done
for f in x.csv y.csv; do printf '%s\n' "$f" >"two/$f"; done
cat >code/list.py <<'PY'
import json, os
host = os.environ["SM_CURRENT_HOST"]
root = os.environ["SM_CHANNEL_SH"]
assert os.path.isdir(root), root
files = sorted(os.path.relpath(os.path.join(d, f), root)
               for d, _, fs in os.walk(root) for f in fs)
cfg = json.load(open(os.path.join(os.environ["SM_INPUT_CONFIG_DIR"], "inputdataconfig.json")))
out = os.path.join(os.environ["LIST_DIR"], os.environ["STEP"])
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, host), "w") as fh:
    json.dump({"files": files, "dist": cfg["sh"]["S3DistributionType"]}, fh)
PY
fit() {  # fit STEP COUNT DATA DISTRIBUTION-LINE
  cat <<Y
  $1:
    fit:
      entry_point: list.py
      source_dir: code
      instance_type: ml.m5.large
      instance_count: $2
      environment: {LIST_DIR: "$T/lists", STEP: $1}
      inputs:
        sh: {uri: $3$4}
Y
}
{
  printf 'smflow: 1\nname: shard\ntarget: local\nsteps:\n'
  fit sharded2 2 four ", distribution: ShardedByS3Key"
  fit sharded3 3 four ", distribution: ShardedByS3Key"
  fit sparse3 3 two ", distribution: ShardedByS3Key"
  fit full2 2 four ", distribution: FullyReplicated"
  fit default2 2 four ""
} >p.yaml
sm run p.yaml
expect_eq "run exit" "$rc" 0
for s in sharded2 sharded3 sparse3 full2 default2; do
  st=$(step_field "$s" state)
  expect_eq "state of $s" "$st" succeeded
  [[ $st == succeeded ]] || echo "$s: $(step_field "$s" error.message)"
done

# check STEP COUNT ALL-FILES-JSON SHARDED(1/0) DIST [EXACT-JSON]: one line of problems, or none.
check() {
  python3 - "$T/lists/$1" "$2" "$3" "$4" "$5" "${6:-}" <<'PY'
import json, os, sys
d, n, want_all, sharded, dist, exact = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4] == "1", sys.argv[5], sys.argv[6]
hosts = ["algo-%d" % (i + 1) for i in range(n)]
got = {h: json.load(open(os.path.join(d, h))) for h in hosts}
bad = []
for h in hosts:
    if got[h]["dist"] != dist:
        bad.append("%s: S3DistributionType %r" % (h, got[h]["dist"]))
lists = [got[h]["files"] for h in hosts]
if sharded:
    union = sorted(f for l in lists for f in l)
    if union != sorted(want_all):
        bad.append("union %r (duplicates or missing), want %r" % (union, want_all))
    sizes = [len(l) for l in lists]
    if max(sizes) - min(sizes) > 1:
        bad.append("unbalanced %r" % sizes)
    if exact and lists != json.loads(exact):
        bad.append("assignment %r, want %r" % (lists, json.loads(exact)))
else:
    for h, l in zip(hosts, lists):
        if l != sorted(want_all):
            bad.append("%s got %r, want all" % (h, l))
print("; ".join(bad))
PY
}
four='["a.csv", "b.csv", "c/d.csv", "e.csv"]'
expect_eq "sharded over 2" "$(check sharded2 2 "$four" 1 ShardedByS3Key \
  '[["a.csv", "c/d.csv"], ["b.csv", "e.csv"]]')" ""
expect_eq "sharded over 3" "$(check sharded3 3 "$four" 1 ShardedByS3Key \
  '[["a.csv", "e.csv"], ["b.csv"], ["c/d.csv"]]')" ""
expect_eq "sharded, a host with none" "$(check sparse3 3 '["x.csv", "y.csv"]' 1 ShardedByS3Key \
  '[["x.csv"], ["y.csv"], []]')" ""
expect_eq "FullyReplicated" "$(check full2 2 "$four" 0 FullyReplicated)" ""
expect_eq "default distribution" "$(check default2 2 "$four" 0 FullyReplicated)" ""
finish
