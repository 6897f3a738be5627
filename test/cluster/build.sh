#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager and kube-scheduler from
# the pinned Go modules in k8s/ and etcd/ into a cache outside the repo, keyed
# by version, and prints the directory. The three Kubernetes binaries come from
# one `go build` (they share most packages); etcd is a module of its own.
# A warm cache returns at once; a cold build prints one
# line per build and a line a minute while it runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
. "$here/../lib/go-build.sh"
out="$cache_root/bin/k8s-${KUBERNETES_VERSION}-etcd-${ETCD_VERSION}"

# Estimates: measured cold (empty Go build and module caches) on 2 quiet cores, 2026-12-01.
build etcd "$here/etcd" go.etcd.io/etcd/server/v3 "-X go.etcd.io/etcd/api/v3/version.GitSHA=module-${ETCD_VERSION}" "78 s"

major=${KUBERNETES_VERSION#v}; minor=${major#*.}; major=${major%%.*}; minor=${minor%%.*}
k8s_version_flags=""
# The build date is a module-proxy lookup: only made when something is built.
if [ ! -x "$out/kube-apiserver" ] || [ ! -x "$out/kube-controller-manager" ] || [ ! -x "$out/kube-scheduler" ]; then
  k8s_date=$(module_time "$here/k8s" "k8s.io/kubernetes@${KUBERNETES_VERSION}")
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    k8s_version_flags+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    k8s_version_flags+=" -X $p.gitTreeState=clean -X $p.buildDate=${k8s_date}"
  done
fi
binaries=(kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager
  kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler)
build_together "$here/k8s" "$k8s_version_flags" "9 min 37 s" "${binaries[@]}"
echo "$out"
