#!/usr/bin/env bash
# Builds the real node's binaries into version-keyed caches outside the repo
# and prints one NAME=DIR line per cache:
#   containerd, ctr, containerd-shim-runc-v2  from containerd/ (static, no cgo)
#   kubelet                                    from ../cluster/k8s, the control
#                                              plane's own pinned module set
#   runc                                       from runc/ (seccomp, cgo)
# The CNI plugins come from Debian (containernetworking-plugins): install-host.sh
# installs them. A warm cache returns at once.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/versions.env"
. "$here/../cluster/versions.env"
. "$here/../lib/go-build.sh"

out="$cache_root/bin/containerd-${CONTAINERD_VERSION}"
containerd_flags="-X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION}"
# No cgo: the shim is exec'd inside every pod sandbox and must not depend on
# the host's libc; btrfs/zfs/devmapper snapshotters are not used here.
# One go build for the three: they share most packages, and one scheduler compiles them
# in parallel and links them side by side (see build_together).
CGO_ENABLED=0 build_together "$here/containerd" "$containerd_flags" "" containerd=github.com/containerd/containerd/v2/cmd/containerd \
  ctr=github.com/containerd/containerd/v2/cmd/ctr containerd-shim-runc-v2=github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2
echo "containerd=$out"

# With seccomp (RuntimeDefault profiles), so cgo and Debian's libseccomp-dev
# (install-host.sh); the version comes from runc's VERSION file, not ldflags.
out="$cache_root/bin/runc-${RUNC_VERSION}"
GOFLAGS="-tags=seccomp,urfave_cli_no_docs" CGO_ENABLED=1 build runc "$here/runc" github.com/opencontainers/runc "-X main.gitCommit=module-${RUNC_VERSION}"
echo "runc=$out"

out="$cache_root/bin/kubelet-${KUBERNETES_VERSION}"
major=${KUBERNETES_VERSION#v}; minor=${major#*.}; major=${major%%.*}; minor=${minor%%.*}
k8s_version_flags=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  k8s_version_flags+=" -X $p.gitVersion=$KUBERNETES_VERSION -X $p.gitMajor=$major -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
done
build kubelet "$here/../cluster/k8s" k8s.io/kubernetes/cmd/kubelet "$k8s_version_flags"
echo "kubelet=$out"
