// Records every trainer pod the apiserver shows, as it happens, through one
// watch: the chaos scenarios check afterwards that no attempt was ever
// started twice and that no two trainers of one run were ever alive at once
// (the one-writer rule), whatever was killed in between.
import { KubeConfig, Watch, type V1Pod } from "@kubernetes/client-node";
import { NAMESPACE } from "./harness.js";

const RUN_LABEL = "resumable.dev/run";

export interface PodRecorder {
  /** Every violation seen so far, in words; empty when none. */
  violations(): string[];
  /** Pod uids created per pod name. */
  created(): ReadonlyMap<string, ReadonlySet<string>>;
  stop(): void;
}

export async function recordPods(kubeconfig: string): Promise<PodRecorder> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const created = new Map<string, Set<string>>();
  /** Per run: the uid and name of each pod not yet Succeeded/Failed or gone. */
  const alive = new Map<string, Map<string, string>>();
  const violations: string[] = [];
  let stopped = false;
  let request: { abort(): void } | undefined;
  let resourceVersion: string | undefined;

  const observe = (type: string, pod: V1Pod) => {
    const name = pod.metadata?.name ?? "";
    const uid = pod.metadata?.uid ?? "";
    const run = pod.metadata?.labels?.[RUN_LABEL] ?? "";
    resourceVersion = pod.metadata?.resourceVersion ?? resourceVersion;
    const uids = created.get(name) ?? new Set<string>();
    created.set(name, uids);
    if (!uids.has(uid)) {
      uids.add(uid);
      if (uids.size > 1) violations.push(`pod ${name} was created ${uids.size} times`);
    }
    const live = alive.get(run) ?? new Map<string, string>();
    alive.set(run, live);
    const ended = type === "DELETED" || pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
    if (ended) {
      live.delete(uid);
    } else if (!live.has(uid)) {
      if (live.size > 0) violations.push(`run ${run}: ${name} alive while ${[...live.values()].join(", ")} still were`);
      live.set(uid, name);
    }
  };

  const watch = new Watch(kc);
  const start = async (): Promise<void> => {
    if (stopped) return;
    request = await watch.watch(
      `/api/v1/namespaces/${NAMESPACE}/pods`,
      { labelSelector: RUN_LABEL, ...(resourceVersion ? { resourceVersion } : {}) },
      (type: string, pod: V1Pod) => observe(type, pod),
      // A dropped watch resumes from the last version seen, so no event is missed.
      () => void (stopped ? undefined : setTimeout(() => void start().catch((err: Error) => violations.push(`recorder: ${err.message}`)), 200)),
    );
  };
  await start();
  return {
    violations: () => [...violations],
    created: () => created,
    stop: () => {
      stopped = true;
      request?.abort();
    },
  };
}
