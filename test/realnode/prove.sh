#!/usr/bin/env bash
# Bring-up proof on a cluster with the real node (up.sh): a pod from
# resumable/trainer:dev trains to completion on real-spot-a under the
# securityContext the product promises (non-root, read-only root, no privilege
# escalation, no capabilities, RuntimeDefault seccomp), writing checkpoints to
# an emptyDir; then `kubectl logs` and `kubectl exec` reach the real kubelet.
#   bash test/realnode/prove.sh CLUSTER_STATE_DIR
set -euo pipefail
cluster=$(cd "${1:?usage: prove.sh CLUSTER_STATE_DIR}" && pwd)
k() { kubectl --kubeconfig "$cluster/admin.kubeconfig" "$@"; }
pod=trainer-on-real-node
k delete pod "$pod" --ignore-not-found --wait=true >/dev/null
k apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Pod
metadata: { name: trainer-on-real-node, namespace: default }
spec:
  nodeSelector: { kubernetes.io/hostname: real-spot-a }
  tolerations: [{ key: cloud.google.com/gke-spot, operator: Equal, value: "true", effect: NoSchedule }]
  restartPolicy: Never
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    runAsGroup: 1000
    fsGroup: 1000
    seccompProfile: { type: RuntimeDefault }
  containers:
    - name: trainer
      image: resumable/trainer:dev
      imagePullPolicy: Never
      env:
        - name: RESUMABLE_CONFIG
          value: '{"model":"mlp","hiddenUnits":32,"dropout":0.25,"dataset":"synthetic","syntheticExamples":200,"totalSteps":40,"batchSize":16,"learningRate":0.01,"optimizer":"adam","seed":1234,"backend":"cpu","checkpoint":{"everySteps":10,"everySeconds":0,"keep":3}}'
        - { name: RESUMABLE_TERMINATION_LOG, value: /dev/termination-log }
      securityContext:
        allowPrivilegeEscalation: false
        readOnlyRootFilesystem: true
        capabilities: { drop: [ALL] }
      resources: { limits: { memory: 1Gi, nvidia.com/gpu: "1" } }
      volumeMounts: [{ name: checkpoints, mountPath: /checkpoints }, { name: tmp, mountPath: /tmp }]
  volumes: [{ name: checkpoints, emptyDir: {} }, { name: tmp, emptyDir: {} }]
YAML
start=$SECONDS
phase=""
for _ in $(seq 1 300); do
  phase=$(k get pod "$pod" -o jsonpath='{.status.phase}')
  case "$phase" in Succeeded|Failed) break ;; esac
  sleep 1
done
echo "pod $pod: $phase after $((SECONDS - start))s on $(k get pod "$pod" -o jsonpath='{.spec.nodeName}')"
k get pod "$pod" -o jsonpath='{.status.containerStatuses[0].state.terminated}'; echo
echo "--- kubectl logs (last 3 lines)"; k logs "$pod" | tail -3
[ "$phase" = Succeeded ]

# kubectl exec into a running container of the same image and securityContext.
k delete pod shell-on-real-node --ignore-not-found --wait=true >/dev/null
k get pod "$pod" -o json | node -e '
  const p = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const c = p.spec.containers[0];
  const out = { apiVersion: "v1", kind: "Pod", metadata: { name: "shell-on-real-node", namespace: "default" },
    spec: { ...p.spec, nodeName: undefined, containers: [{ ...c, command: ["node", "-e", "setInterval(() => {}, 1000)"], args: [] }] } };
  process.stdout.write(JSON.stringify(out));' | k apply -f - >/dev/null
k wait --for=condition=Ready pod/shell-on-real-node --timeout=120s >/dev/null
echo "--- kubectl exec: id; a write to the root file system; a write to the volume"
k exec shell-on-real-node -- id
if k exec shell-on-real-node -- touch /app/x 2>/dev/null; then echo "root file system is writable" >&2; exit 1; fi
echo "touch /app/x refused (read-only root)"
k exec shell-on-real-node -- sh -c 'touch /checkpoints/x && ls -ln /checkpoints/x'
k delete pod shell-on-real-node --wait=false >/dev/null
