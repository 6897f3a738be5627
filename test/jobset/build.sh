#!/usr/bin/env bash
# Builds the JobSet controller manager (sigs.k8s.io/jobset: its main package is the module
# root) from the pinned module in module/ into the cache (see ../lib/go-build.sh), renders the
# same module's CRD and webhook configurations beside it (crds.yaml, webhooks.yaml), and prints
# the directory. The tests and `make cluster-up JOBSET=1` run it as a host process against our
# control plane (start.ts). A warm cache returns at once. Its module selects the dependency
# versions Kueue's does (module/go.mod), so after Kueue's build it compiled in 15 s on 2026-12-05
# (2 cores under load); 53 MB. Alone on an empty Go build cache it was not measured.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
. "$here/../lib/go-build.sh"
out="$cache_root/bin/jobset-${JOBSET_VERSION}"
build jobset "$here/module" sigs.k8s.io/jobset "-X sigs.k8s.io/jobset/pkg/version.GitVersion=${JOBSET_VERSION}" "15 s after Kueue; minutes alone"
render_manifests "$here/module" "sigs.k8s.io/jobset@${JOBSET_VERSION}" crds=components/crd webhooks=components/webhook
echo "$out"
