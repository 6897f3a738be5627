#!/usr/bin/env bash
# Builds KWOK (sigs.k8s.io/kwok/cmd/kwok) from the pinned module in module/ into the cache
# (see ../lib/go-build.sh) and prints the directory. The scale benchmark runs it out of
# cluster against our control plane to simulate hundreds of nodes. A warm cache returns at
# once. Cold (975 packages; empty Go build and module caches) it took 187 s on 2 quiet cores
# (2026-12-01), and 2763 s with -p=1 under load average 20-30. Go's own default parallelism, as
# in the other build scripts; on a shared machine GOFLAGS=-p=1 builds one package at a time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
. "$here/../lib/go-build.sh"
out="$cache_root/bin/kwok-${KWOK_VERSION}"
build kwok "$here/module" sigs.k8s.io/kwok/cmd/kwok "" "3 min 7 s"
echo "$out"
