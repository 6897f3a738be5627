#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager and kube-scheduler from
# the pinned Go modules in k8s/ and etcd/ into a cache outside the repo, keyed
# by version, and prints the directory. A warm cache returns at once; a cold
# build takes about five minutes on 2 cores and prints one line per binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
. "$here/../lib/go-build.sh"
out="$cache_root/bin/k8s-${KUBERNETES_VERSION}-etcd-${ETCD_VERSION}"

build etcd "$here/etcd" go.etcd.io/etcd/server/v3 "-X go.etcd.io/etcd/api/v3/version.GitSHA=module-${ETCD_VERSION}"

major=${KUBERNETES_VERSION#v}; minor=${major#*.}; major=${major%%.*}; minor=${minor%%.*}
k8s_date=$(module_time "$here/k8s" "k8s.io/kubernetes@${KUBERNETES_VERSION}")
k8s_version_flags=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_version_flags+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
  k8s_version_flags+=" -X $p.gitTreeState=clean -X $p.buildDate=${k8s_date}"
done
for b in kube-apiserver kube-controller-manager kube-scheduler; do
  build "$b" "$here/k8s" "k8s.io/kubernetes/cmd/$b" "$k8s_version_flags"
done
echo "$out"
