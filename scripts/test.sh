#!/usr/bin/env bash
# The full test suite: the release build's tests, then the unit tests again
# under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DSMF_WERROR=ON >/dev/null
cmake --build build
ctest --test-dir build --output-on-failure -j2
cmake -S . -B build-asan -G Ninja -DSMF_WERROR=ON -DSMF_ASAN=ON -DSMF_UBSAN=ON \
  -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan
ctest --test-dir build-asan --output-on-failure -j2 -R '^unit/'
