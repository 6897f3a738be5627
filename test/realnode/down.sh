#!/usr/bin/env bash
# Stops what up.sh started (the kubelet, its pods' containers, containerd)
# and removes the pod bridge.
#   bash test/realnode/down.sh CLUSTER_STATE_DIR
set -uo pipefail
dir="${1:?usage: down.sh CLUSTER_STATE_DIR}/realnode"
[ -d "$dir" ] || exit 0
stop() { # PIDFILE
  [ -f "$1" ] || return 0
  local pid; pid=$(cat "$1")
  kill "$pid" 2>/dev/null && for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null
  rm -f "$1"
}
stop "$dir/log-keeper.pid"
stop "$dir/kubelet.pid"
sock="$dir/containerd/containerd.sock"
ctr_bin=$(ls -d "${RESUMABLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/resumable}"/bin/containerd-*/ctr 2>/dev/null | tail -1)
if [ -n "$ctr_bin" ] && [ -S "$sock" ]; then
  # Each pod's shim outlives containerd: end the tasks while it still answers.
  for id in $("$ctr_bin" --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
    "$ctr_bin" --address "$sock" -n k8s.io tasks kill -s SIGKILL "$id" >/dev/null 2>&1
  done
  sleep 1
  for id in $("$ctr_bin" --address "$sock" -n k8s.io tasks ls -q 2>/dev/null); do
    "$ctr_bin" --address "$sock" -n k8s.io tasks delete "$id" >/dev/null 2>&1
  done
  # containerd's root is kept in the cache for its images: leave no container
  # (nor its snapshot) and no sandbox behind in it.
  for id in $("$ctr_bin" --address "$sock" -n k8s.io containers ls -q 2>/dev/null); do
    "$ctr_bin" --address "$sock" -n k8s.io containers delete "$id" >/dev/null 2>&1
  done
  for id in $("$ctr_bin" --address "$sock" -n k8s.io sandboxes ls 2>/dev/null | awk 'NR > 1 {print $1}'); do
    "$ctr_bin" --address "$sock" -n k8s.io sandboxes rm -f "$id" >/dev/null 2>&1
  done
fi
stop "$dir/containerd.pid"
cluster=$(cd "$dir/.." && pwd)
for owner in "${RESUMABLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/resumable}"/containerd-root-*/owner; do
  [ "$(cat "$owner" 2>/dev/null)" = "$cluster" ] && rm -f "$owner"
done
# A shim whose task could not be deleted outlives containerd: end those of
# this node's containerd only (their command line names its socket).
for pid in $(pgrep -f -- "-address $sock\$" 2>/dev/null); do kill "$pid" 2>/dev/null; done
ip link delete rsm-cni0 2>/dev/null
# up.sh's stand-in for kube-proxy.
iptables -t nat -D PREROUTING -s "${REAL_NODE_POD_CIDR:-10.88.0.0/24}" -j RSM-SERVICES 2>/dev/null
iptables -t nat -F RSM-SERVICES 2>/dev/null && iptables -t nat -X RSM-SERVICES 2>/dev/null
# Mounts left under the node's dirs (pod volumes, rootfs) go before the files.
grep " $dir/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
exit 0
