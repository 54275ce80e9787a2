#!/usr/bin/env bash
# crypto_lib.sh: smflow does not link libcrypto (no DT_NEEDED entry, so the
# loader does not map it at every start); src/util/crypto_lib.c loads
# libcrypto.so.3 at run time. Digests made through the binary are still right
# (checked against coreutils' sha256sum); when the http module brings libssl
# in, the process still holds one libcrypto; and a libcrypto that cannot be
# loaded is a clear error naming it, not a crash, while commands that need no
# digest do not notice.
source "$(dirname "$0")/lib/engine.bash"

# No libcrypto among the binary's dependencies, direct or indirect.
needed=$(readelf -d "$SMFLOW" | grep NEEDED)
[[ -n $needed ]] || fail "readelf -d printed no NEEDED entry: $(readelf -d "$SMFLOW" 2>&1 | head -3)"
[[ $needed == *libcrypto* ]] && fail "smflow has libcrypto as DT_NEEDED: $needed"
deps=$(ldd "$SMFLOW")
[[ $deps == *libcrypto* ]] && fail "ldd lists libcrypto: $deps"

mkdir -p code && echo 'print(1)' >code/train.py
cat >p.yaml <<'YAML'
smflow: 1
name: digests
steps:
  code:
    upload: {source_dir: code, to: "s3://bucket/code/"}
  hello:
    run: "echo hi"
YAML

# Commands without a digest never open libcrypto.
if command -v strace >/dev/null; then
  opened=$(strace -f -e trace=openat "$SMFLOW" validate p.yaml 2>&1 >/dev/null)
  [[ $opened == *libcrypto* ]] && fail "validate opened libcrypto"
fi

# Digests through the binary: the pipeline's (the run's record) and the
# content address of the uploaded archive (sourcedir-SHA256[:12].tar.gz).
sm run p.yaml
expect_eq "run" "$rc" 0
expect_eq "pipeline digest" "$(q "select pipeline_sha256 from runs")" \
  "$(sha256sum p.yaml | cut -d' ' -f1)"
archive=$(find state/store/bucket/code -name 'sourcedir-*.tar.gz')
[[ -f $archive ]] || fail "no archive stored: $(find state/store)"
name=${archive##*/sourcedir-}
expect_eq "archive named by its digest" "${name%.tar.gz}" "$(sha256sum "$archive" | cut -c1-12)"

# The http module (libcurl -> libssl -> libcrypto.so.3) finds the libcrypto
# smflow loaded: the dynamic loader maps it once.
http_probe_pipeline
rm -rf state && mkdir ld
LD_DEBUG=files LD_DEBUG_OUTPUT=$T/ld/out sm run h.yaml
expect_contains "http module's request ran" "$(cat err)" "127.0.0.1 port 9"
log=$(cat ld/out.*)
expect_eq "libssl mapped" "$(grep -c 'file=libssl.so.3 \[0\];  generating link map' <<<"$log")" 1
expect_eq "libcrypto mapped once" \
  "$(grep -c 'file=libcrypto.so.3 \[0\];  generating link map' <<<"$log")" 1
expect_contains "libcrypto loaded by smflow itself" "$log" \
  "file=libcrypto.so.3 [0];  dynamically loaded by $SMFLOW"

# A libcrypto.so.3 that is not OpenSSL's (found first through
# LD_LIBRARY_PATH), then one that is no shared object at all.
mkdir -p fake junk
echo 'int not_libcrypto = 1;' >fake.c
cc -shared -fPIC -Wl,-soname,libcrypto.so.3 -o fake/libcrypto.so.3 fake.c
echo junk >junk/libcrypto.so.3
rm -rf state
LD_LIBRARY_PATH=$T/fake sm run p.yaml
expect_eq "no OpenSSL functions: exit" "$rc" 4
expect_contains "no OpenSSL functions: message" "$(cat err)" \
  "error: cannot load OpenSSL's libcrypto (libcrypto.so.3): no function EVP_MD_fetch in it: $T/fake/libcrypto.so.3: undefined symbol: EVP_MD_fetch"
[[ $(cat err) == *"resume with"* ]] && fail "a run that never started offers a resume: $(cat err)"
expect_eq "no run recorded" "$(q "select count(*) from runs")" 0
LD_LIBRARY_PATH=$T/junk sm run p.yaml
expect_eq "not a shared object: exit" "$rc" 4
expect_contains "not a shared object: message" "$(cat err)" \
  "error: cannot load OpenSSL's libcrypto (libcrypto.so.3): $T/junk/libcrypto.so.3:"
LD_LIBRARY_PATH=$T/junk sm --version
expect_eq "--version without libcrypto" "$rc" 0
LD_LIBRARY_PATH=$T/junk sm validate p.yaml
expect_eq "validate without libcrypto" "$rc" 0
finish
