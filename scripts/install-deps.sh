#!/usr/bin/env bash
# Install every Debian 12 package smflow's build, tests and benchmarks need.
# Idempotent: packages already present are skipped by apt-get.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
pkgs=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libyaml-dev libuv1-dev libcurl4-openssl-dev libssl-dev liblua5.4-dev lua5.4
  libsqlite3-dev sqlite3 libjansson-dev libexpat1-dev libarchive-dev libisal-dev zlib1g-dev
  python3 fiu-utils faketime mitmproxy make graphviz
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
