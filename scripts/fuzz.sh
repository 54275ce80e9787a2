#!/usr/bin/env bash
# fuzz.sh [SECONDS]: build the libFuzzer target for the pipeline loader with
# clang + ASan + UBSan in build-fuzz/, seed a work corpus from tests/dsl, and
# fuzz for SECONDS (default 60). Crashes land in build-fuzz/artifacts/; add each
# one, once fixed, to tests/dsl/invalid/ as a corpus case.
set -euo pipefail
secs="${1:-60}"
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
  -DSMF_FUZZ=ON >/dev/null
cmake --build "$build" --target fuzz_dsl -j2
work="$build/corpus/dsl"
mkdir -p "$work" "$build/artifacts"
cp "$root"/tests/dsl/valid/*.yaml "$root"/tests/dsl/invalid/*.yaml "$work"/
cd "$build"
exec ./tests/fuzz/fuzz_dsl -max_len=8192 -rss_limit_mb=2048 -timeout=10 \
  -max_total_time="$secs" -dict="$root/tests/fuzz/dsl.dict" \
  -artifact_prefix="$build/artifacts/" -print_final_stats=1 "$work"
