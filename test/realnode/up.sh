#!/usr/bin/env bash
# Adds the real node `real-spot-a` to a running local cluster: containerd (its
# own root, state and socket under the cluster's state dir), runc built here,
# the CNI plugins from Debian, the pause image and ours imported into
# containerd, and the real kubelet from the pinned k8s module set. cgroup v1, no systemd:
# the cgroupfs driver on both sides; swap is off on these machines anyway.
#   bash test/realnode/up.sh CLUSTER_STATE_DIR     (holds admin.kubeconfig)
# Stop it with down.sh. Logs: CLUSTER_STATE_DIR/realnode/*.log
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cluster=$(cd "${1:?usage: up.sh CLUSTER_STATE_DIR}" && pwd)
kubeconfig="$cluster/admin.kubeconfig"
[ -f "$kubeconfig" ] || { echo "no $kubeconfig: start the control plane first (make cluster-up)" >&2; exit 1; }
node=${REAL_NODE_NAME:-real-spot-a}
kubelet_port=${REAL_NODE_KUBELET_PORT:-10250}
# A pod network of its own, on a bridge of its own whose address is each pod's
# default route; nothing is masqueraded, so nothing leaves the machine.
pod_cidr=${REAL_NODE_POD_CIDR:-10.88.0.0/24}
dir="$cluster/realnode"
mkdir -p "$dir"/{containerd,cni/net.d,kubelet,pki}
. "$here/versions.env"
# containerd's root (content store, unpacked snapshots, image metadata) lives in
# the cache, so a new cluster finds the images already imported; its state
# (sockets, running tasks) is the cluster's. One real node per machine at a
# time: containerd locks the root's metadata.
root="${RESUMABLE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/resumable}/containerd-root-${CONTAINERD_VERSION}"
mkdir -p "$root"
owner=$(cat "$root/owner" 2>/dev/null || true)
if [ -n "$owner" ] && [ "$owner" != "$cluster" ] && kill -0 "$(cat "$owner/realnode/containerd.pid" 2>/dev/null || echo 0)" 2>/dev/null; then
  echo "a real node already runs on this machine, for the cluster in $owner (one at a time: stop it with bash test/realnode/down.sh $owner)" >&2
  exit 1
fi
echo "$cluster" > "$root/owner"

bash "$here/install-host.sh"
eval "$(bash "$here/build.sh" | sed 's/^/bin_/')"
export PATH="$bin_containerd:$PATH"
sock="$dir/containerd/containerd.sock"

cat > "$dir/containerd.toml" <<TOML
version = 3
root = "$root"
state = "$dir/containerd/state"
[grpc]
  address = "$sock"
[plugins.'io.containerd.cri.v1.images'.pinned_images]
  sandbox = 'resumable.local/pause:v1'
[plugins.'io.containerd.cri.v1.runtime']
  enable_cdi = false
  # Root here lacks CAP_SYS_RESOURCE: a negative oom_score_adj (the kubelet
  # asks -998 for every pod sandbox) makes runc init fail with "can't get
  # final child's PID from pipe: EOF". Clamp to containerd's own score.
  restrict_oom_score_adj = true
[plugins.'io.containerd.cri.v1.runtime'.containerd]
  default_runtime_name = 'runc'
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
  runtime_type = 'io.containerd.runc.v2'
[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
  BinaryName = '$bin_runc/runc'
  SystemdCgroup = false
[plugins.'io.containerd.cri.v1.runtime'.cni]
  bin_dirs = ['/usr/lib/cni']
  conf_dir = '$dir/cni/net.d'
[plugins.'io.containerd.nri.v1.nri']
  disable = true
TOML

cat > "$dir/cni/net.d/10-resumable.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "resumable-real-node",
  "plugins": [
    { "type": "bridge", "bridge": "rsm-cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{ "subnet": "$pod_cidr" }]], "dataDir": "$dir/cni/ipam",
        "routes": [{ "dst": "0.0.0.0/0" }] } },
    { "type": "loopback" }
  ]
}
JSON

if ! ctr --address "$sock" version >/dev/null 2>&1; then
  setsid containerd --config "$dir/containerd.toml" >"$dir/containerd.log" 2>&1 </dev/null &
  echo $! > "$dir/containerd.pid"
  for _ in $(seq 1 60); do ctr --address "$sock" version >/dev/null 2>&1 && break; sleep 1; done
  ctr --address "$sock" version >/dev/null || { tail -20 "$dir/containerd.log" >&2; exit 1; }
  # Containers and sandboxes a previous cluster left in the shared root (its
  # kubelet and state are gone) would pin snapshots and IPs: remove them.
  for id in $(ctr --address "$sock" -n k8s.io containers ls -q 2>/dev/null); do
    ctr --address "$sock" -n k8s.io tasks delete -f "$id" >/dev/null 2>&1 || true
    ctr --address "$sock" -n k8s.io containers delete "$id" >/dev/null 2>&1 || true
  done
  for id in $(ctr --address "$sock" -n k8s.io sandboxes ls 2>/dev/null | awk 'NR > 1 {print $1}'); do
    ctr --address "$sock" -n k8s.io sandboxes rm -f "$id" >/dev/null 2>&1 || true
  done
fi
echo "containerd $(ctr --address "$sock" version | sed -n 's/^ *Version: *//p' | tail -1) on $sock" >&2

bash "$here/images.sh" "$sock" "$root"

# The pods' way to the apiserver, as kube-proxy would make it (there is none
# here): the `kubernetes` Service's IP and port DNATed to its endpoint, which
# is this machine's own address (the control plane advertises it; the
# apiserver listens on every address). Only for packets from the pod network.
svc_ip=$(kubectl --kubeconfig "$kubeconfig" get service kubernetes -n default -o jsonpath='{.spec.clusterIP}')
svc_port=$(kubectl --kubeconfig "$kubeconfig" get service kubernetes -n default -o jsonpath='{.spec.ports[0].port}')
endpoint=$(kubectl --kubeconfig "$kubeconfig" get endpointslice -n default -l kubernetes.io/service-name=kubernetes \
  -o jsonpath='{.items[0].endpoints[0].addresses[0]}:{.items[0].ports[0].port}')
case "$endpoint" in
  127.*|:*) echo "the apiserver advertises $endpoint: pods cannot reach a loopback endpoint (no non-loopback address on this machine?)" >&2; exit 1 ;;
esac
iptables -t nat -N RSM-SERVICES 2>/dev/null || iptables -t nat -F RSM-SERVICES
iptables -t nat -C PREROUTING -s "$pod_cidr" -j RSM-SERVICES 2>/dev/null || iptables -t nat -A PREROUTING -s "$pod_cidr" -j RSM-SERVICES
iptables -t nat -A RSM-SERVICES -d "$svc_ip/32" -p tcp --dport "$svc_port" -j DNAT --to-destination "$endpoint"
echo "pods reach the apiserver: $svc_ip:$svc_port -> $endpoint" >&2

# The apiserver reaches the kubelet without a client certificate (the local
# control plane has none for it), so the kubelet's API allows anonymous
# requests: this is a throw-away local node, not a hardening example.
cat > "$dir/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
failSwapOn: false
# The control plane declares a node lost after 10 s without a heartbeat (see
# test/cluster/controlplane.ts); the kubelet's defaults (status every 10 s, a
# 40 s lease renewed every 10 s) miss that on a busy machine and the taint
# manager evicts healthy pods. Heartbeat every 2 s, as the process kubelet does.
nodeStatusUpdateFrequency: 2s
nodeLeaseDurationSeconds: 8
containerRuntimeEndpoint: unix://$sock
imageServiceEndpoint: unix://$sock
port: $kubelet_port
readOnlyPort: 0
healthzPort: 0
authentication:
  anonymous: { enabled: true }
  webhook: { enabled: false }
authorization: { mode: AlwaysAllow }
registerWithTaints:
  - { key: cloud.google.com/gke-spot, value: "true", effect: NoSchedule }
# Never evicts for the shared machine's disk: the tests evict on purpose.
evictionHard: { memory.available: "100Mi" }
imageGCHighThresholdPercent: 100
resolvConf: /etc/resolv.conf
podLogsDir: $dir/pod-logs
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
YAML

# The kubelet refuses a loopback node IP ("nodeIP can't be loopback address")
# and the apiserver dials a node by its Hostname address first: the node's
# name resolves to 127.0.0.1, so `kubectl logs/exec` never leave the machine.
if ! grep -qE "^127\.0\.0\.1\s.*\b$node\b" /etc/hosts; then
  [ -z "$(tail -c1 /etc/hosts)" ] || echo >> /etc/hosts
  echo "127.0.0.1 $node" >> /etc/hosts
fi

labels=cloud.google.com/gke-spot=true,cloud.google.com/gke-provisioning=spot
labels+=,cloud.google.com/gke-accelerator=nvidia-tesla-t4,node.kubernetes.io/instance-type=n1-standard-4
labels+=,topology.kubernetes.io/region=us-central1,topology.kubernetes.io/zone=us-central1-a
labels+=,resumable.dev/real-node=true
setsid "$bin_kubelet/kubelet" \
  --config="$dir/kubelet.yaml" --kubeconfig="$kubeconfig" \
  --root-dir="$dir/kubelet" --cert-dir="$dir/pki" \
  --hostname-override="$node" --node-labels="$labels" \
  --v=1 >"$dir/kubelet.log" 2>&1 </dev/null &
echo $! > "$dir/kubelet.pid"

# The log keeper, as a cluster's log collector would: the kubelet removes a
# pod's logs soon after the pod is deleted (an evicted attempt's among them),
# so every container log is hard-linked into kept-logs/ (same layout) as soon
# as it appears; the link keeps all that is written to it afterwards.
setsid bash -c '
  cd "$1" || exit 1
  while sleep 0.5; do
    for f in pod-logs/*/*/*.log; do
      [ -f "$f" ] || continue
      t="kept-logs/${f#pod-logs/}"
      [ -e "$t" ] || { mkdir -p "${t%/*}" && ln "$f" "$t"; }
    done
  done' log-keeper "$dir" >/dev/null 2>&1 </dev/null &
echo $! > "$dir/log-keeper.pid"

for _ in $(seq 1 120); do
  kubectl --kubeconfig "$kubeconfig" get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null | grep -q True && break
  kill -0 "$(cat "$dir/kubelet.pid")" 2>/dev/null || { echo "the kubelet exited; last lines of $dir/kubelet.log:" >&2; tail -30 "$dir/kubelet.log" >&2; exit 1; }
  sleep 1
done
kubectl --kubeconfig "$kubeconfig" get node "$node" >/dev/null
# No GPU here: the node advertises one through its status, as an extended
# resource, so GPU runs schedule on it.
kubectl --kubeconfig "$kubeconfig" patch node "$node" --subresource=status --type=merge \
  -p '{"status":{"capacity":{"nvidia.com/gpu":"1"}}}' >/dev/null
echo "real node $node is up (kubelet $("$bin_kubelet/kubelet" --version | cut -d' ' -f2), containerd $sock)" >&2
