#!/usr/bin/env bash
# Builds helm, prometheus and promtool from the pinned modules in helm/ and
# prometheus/ into the cache (see ../lib/go-build.sh) and prints the directory.
# `build.sh helm` builds helm only (all `make demo` needs); the tests need all three.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
. "$here/../lib/go-build.sh"
out="$cache_root/bin/tools-helm-${HELM_VERSION}-prometheus-${PROMETHEUS_MODULE_VERSION}"

# The estimate: measured cold (empty Go build and module caches) on 2 quiet cores, 2026-12-01.
build helm "$here/helm" helm.sh/helm/v3/cmd/helm "-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION} -X helm.sh/helm/v3/internal/version.gitTreeState=clean" "3 min 52 s"
if [ "${1:-all}" = all ] && { [ ! -x "$out/prometheus" ] || [ ! -x "$out/promtool" ]; }; then
  prom_date=$(module_time "$here/prometheus" "github.com/prometheus/prometheus@${PROMETHEUS_MODULE_VERSION}")
  prom_flags="-X github.com/prometheus/common/version.Version=${PROMETHEUS_VERSION} -X github.com/prometheus/common/version.BuildDate=${prom_date}"
  # Only the Kubernetes service discovery: the tests scrape pods through it and nothing else.
  # Prometheus' own build tags drop the other 24 plugins and their cloud SDKs (oci, ec2,
  # outscale, azure, …): 7,041 Go files to compile instead of 12,799.
  GOFLAGS="${GOFLAGS:+$GOFLAGS }-tags=remove_all_sd,enable_kubernetes_sd" build_together "$here/prometheus" "$prom_flags" "" \
    prometheus=github.com/prometheus/prometheus/cmd/prometheus promtool=github.com/prometheus/prometheus/cmd/promtool
fi
echo "$out"
