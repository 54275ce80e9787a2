#!/usr/bin/env bash
# Fresh machine to a running example: install dependencies, build, then run the
# quickstart pipeline on the local target.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build
./build/smflow validate examples/quickstart/pipeline.yaml
./build/smflow graph examples/quickstart/pipeline.yaml
