#!/usr/bin/env bash
# steps_upload.sh: the upload kind. The archive has the source directory's
# files at its root and each dependency beside them; it is keyed by its own
# SHA-256, so a second run with touched but unchanged files reuses the same
# object (reused=true, nothing written), and a changed file gives a new key.
source "$(dirname "$0")/lib/steps.bash"
mkdir -p src/pkg lib/common
echo 'print("train")' >src/train.py
echo 'X = 1' >src/pkg/__init__.py
echo 'def helper(): return 2' >lib/common/helper.py
cat >p.yaml <<'Y'
smflow: 1
name: up
steps:
  code:
    upload: {source_dir: src, dependencies: [lib/common], to: "s3://code-bucket/prefix"}
Y
sm run p.yaml
expect_eq "first run" "$rc" 0
uri=$(step_field code outputs.uri)
sha=$(step_field code outputs.sha256)
[[ $uri =~ ^s3://code-bucket/prefix/sourcedir-[0-9a-f]{12}\.tar\.gz$ ]] || fail "uri $uri"
expect_eq "key from the hash" "${uri: -19:12}" "${sha:0:12}"
expect_eq "reused (first)" "$(step_field code outputs.reused)" False
obj=$T/state/store/code-bucket/prefix/$(basename "$uri")
expect_eq "stored bytes" "$(stat -c %s "$obj")" "$(step_field code outputs.bytes)"
expect_eq "sha256 of the object" "$(sha256sum "$obj" | cut -d' ' -f1)" "$sha"
expect_eq "entries" "$(tar -tzf "$obj" | sed 's|^\./||' | grep -v '/$' | sort | tr '\n' ' ')" \
  "common/helper.py pkg/__init__.py train.py "
mtime=$(stat -c %Y "$obj")

sleep 1.1
touch src/train.py lib/common/helper.py
sm run p.yaml
expect_eq "second run" "$rc" 0
expect_eq "reused (touched files)" "$(step_field code outputs.reused)" True
expect_eq "same uri" "$(step_field code outputs.uri)" "$uri"
expect_eq "object not rewritten" "$(stat -c %Y "$obj")" "$mtime"

echo 'print("train v2")' >src/train.py
sm run p.yaml
expect_eq "changed run" "$rc" 0
expect_eq "reused (changed file)" "$(step_field code outputs.reused)" False
[[ $(step_field code outputs.uri) != "$uri" ]] || fail "a changed file kept the same key"
finish
