#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager and kube-scheduler from
# the pinned Go modules in k8s/ and etcd/ into a cache outside the repo, keyed
# by version, and prints the directory. A warm cache returns at once; a cold
# build compiles Kubernetes (tens of minutes on 2 cores) and prints one
# progress line per binary.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"

command -v go >/dev/null || { echo "build.sh: Go is required to build the local cluster (https://go.dev/dl)" >&2; exit 1; }

cache=${RESUMABLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/resumable}
out="$cache/bin/k8s-${KUBERNETES_VERSION}-etcd-${ETCD_VERSION}"
mkdir -p "$out"

# One file per binary, written only after the binary is complete (go build
# writes to a temp name and renames), so an interrupted build resumes where
# it stopped and never leaves a half-written binary behind.
build() { # name module-dir package ldflags
  local name=$1 dir=$2 pkg=$3 ldflags=$4
  if [ -x "$out/$name" ]; then return; fi
  local start=$SECONDS
  echo "build.sh: building $name …" >&2
  (cd "$here/$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$out/$name.tmp" "$pkg")
  mv "$out/$name.tmp" "$out/$name"
  echo "build.sh: built $name in $((SECONDS - start))s" >&2
}

major=${KUBERNETES_VERSION#v}; minor=${major#*.}; major=${major%%.*}; minor=${minor%%.*}
# The module proxy records when the tag was made: the honest build date.
k8s_date=$(cd "$here/k8s" && go mod download -json "k8s.io/kubernetes@${KUBERNETES_VERSION}" | sed -n 's/.*"Time": "\(.*\)".*/\1/p')
k8s_version_flags=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_version_flags+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor"
  k8s_version_flags+=" -X $p.gitTreeState=clean -X $p.buildDate=${k8s_date}"
done

build etcd etcd go.etcd.io/etcd/server/v3 "-X go.etcd.io/etcd/api/v3/version.GitSHA=module-${ETCD_VERSION}"
for b in kube-apiserver kube-controller-manager kube-scheduler; do
  build "$b" k8s "k8s.io/kubernetes/cmd/$b" "$k8s_version_flags"
done
echo "$out"
