#!/usr/bin/env bash
# steps_hostile_model.sh: evaluate is given model.tar.gz files that try to
# write outside the directory they are extracted to (`../` entries, absolute
# paths, a symlink leading out and a file written through it, a symlink to an
# absolute path): each step fails naming the entry, and nothing appears outside.
source "$(dirname "$0")/lib/steps.bash"
mkdir -p code outside models
cat >code/evaluate.py <<'PY'
import argparse, json, os
p = argparse.ArgumentParser()
p.add_argument("--model-dir"); p.add_argument("--output-dir")
a = p.parse_args()
json.dump({"files": len(os.listdir(a.model_dir))}, open(os.path.join(a.output_dir, "evaluation.json"), "w"))
PY
abs_target="$T/outside/absolute.txt"
python3 - "$T" "$abs_target" <<'PY'
import io, sys, tarfile
t, abs_target = sys.argv[1], sys.argv[2]
def tar(name, entries):
    with tarfile.open("%s/models/%s.tar.gz" % (t, name), "w:gz") as tf:
        for kind, path, arg in entries:
            ti = tarfile.TarInfo(path)
            if kind == "file":
                data = arg.encode()
                ti.size = len(data)
                tf.addfile(ti, io.BytesIO(data))
            else:
                ti.type = tarfile.SYMTYPE
                ti.linkname = arg
                tf.addfile(ti)
tar("dotdot", [("file", "model.json", "{}"), ("file", "../../../../../../outside/dotdot.txt", "x")])
tar("absolute", [("file", abs_target, "x")])
tar("symlink_out", [("sym", "link", t + "/outside"), ("file", "link/through.txt", "x")])
tar("symlink_rel", [("sym", "up", "../../../../../../../.."), ("file", "up/rel.txt", "x")])
tar("good", [("file", "model.json", "{}")])
PY
{
  echo "smflow: 1"
  echo "name: hostile"
  echo "steps:"
  for m in dotdot absolute symlink_out symlink_rel good; do
    echo "  $m:"
    echo "    evaluate: {entry_point: evaluate.py, source_dir: code, model: models/$m.tar.gz}"
  done
} >p.yaml
sm run p.yaml
expect_eq "run exit" "$rc" 1
expect_eq "the harmless model" "$(step_field good state)" succeeded
expect_eq "the harmless model's report" "$(step_field good outputs.metrics.files)" 1
for m in dotdot absolute symlink_out symlink_rel; do
  expect_eq "$m refused" "$(step_field $m state)" failed
done
expect_contains "dotdot names the entry" "$(q "SELECT error_message FROM steps WHERE id='dotdot'")" "outside/dotdot.txt"
expect_eq "nothing outside" "$(find "$T/outside" -mindepth 1 | wc -l)" 0
expect_eq "no stray files" "$({ find "$T" \( -name dotdot.txt -o -name rel.txt -o -name through.txt \); find / -maxdepth 3 -xdev \( -name dotdot.txt -o -name rel.txt -o -name through.txt \); } 2>/dev/null | wc -l)" 0
finish
