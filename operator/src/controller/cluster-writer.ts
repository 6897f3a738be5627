import {
  CoreV1Api,
  CustomObjectsApi,
  Observable,
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
  type CoreV1Event,
  type KubeConfig,
  type RequestContext,
  type ResponseContext,
  type V1PersistentVolumeClaim,
  type V1Pod,
  type V1Service,
} from "@kubernetes/client-node";
import { API_GROUP, API_VERSION, PLURAL } from "../api/group.js";
import { httpStatus } from "@resumable/kube-runtime";

/** Every write the controller makes, so tests can stand in for the apiserver. */
export interface ClusterWriter {
  createPod(namespace: string, pod: V1Pod): Promise<void>;
  deletePod(namespace: string, name: string, options: { uid?: string; gracePeriodSeconds?: number }): Promise<void>;
  createPvc(namespace: string, pvc: V1PersistentVolumeClaim): Promise<void>;
  createService(namespace: string, service: V1Service): Promise<void>;
  /** Merge-patches the status subresource; `resourceVersion` makes a stale write fail with 409. */
  patchRunStatus(namespace: string, name: string, resourceVersion: string, statusPatch: unknown): Promise<void>;
  createEvent(namespace: string, event: CoreV1Event): Promise<void>;
  /** Merge-patches one annotation of a pod, pinned to its uid (a replaced pod is left alone: 409). */
  patchPodAnnotation(namespace: string, name: string, uid: string, key: string, value: string): Promise<void>;
  /** The same for a PersistentVolumeClaim. */
  patchClaimAnnotation(namespace: string, name: string, uid: string, key: string, value: string): Promise<void>;
}

/** The write methods, by name: the bounded label of the write-latency histogram. */
export type WriteName = keyof ClusterWriter;

/**
 * Wraps a writer so each write reports its round trip, as this client saw it (queueing in
 * the operator's own event loop included): a pass's duration is its deciding share plus
 * these, and the histogram tells which of the two a slow pass spent its time in.
 */
export function timedWriter(
  writer: ClusterWriter,
  startTimer: (labels: { write: WriteName }) => (labels: { result: "success" | "error" }) => unknown,
): ClusterWriter {
  const timed = {} as Record<WriteName, (...args: never[]) => Promise<void>>;
  for (const write of Object.keys(writer) as WriteName[]) {
    const call = writer[write] as (...args: unknown[]) => Promise<void>;
    timed[write] = async (...args: unknown[]) => {
      const stop = startTimer({ write });
      try {
        await call(...args);
        stop({ result: "success" });
      } catch (err) {
        stop({ result: "error" });
        throw err;
      }
    };
  }
  return timed as unknown as ClusterWriter;
}

/** Runs a write and treats the listed HTTP statuses as success (idempotent writes). */
async function tolerating(ok: number[], write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (err) {
    if (!ok.includes(httpStatus(err) ?? 0)) throw err;
  }
}

const CONFLICT = 409;
const NOT_FOUND = 404;

/**
 * Aborts each request after `ms`. client-node sets no timeout, and a write hung on a dead
 * connection would hold its run key forever (a key is never worked on twice at once). A
 * write that lands after its timeout is harmless: creates are AlreadyExists on retry, the
 * status patch is pinned to a resourceVersion.
 */
export function requestTimeout(ms: number, options: ConfigurationOptions = {}): ConfigurationOptions {
  const abortAfter = {
    pre: (request: RequestContext) => {
      request.setSignal(AbortSignal.timeout(ms));
      return new Observable(Promise.resolve(request));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return { ...options, middleware: [...(options.middleware ?? []), abortAfter], middlewareMergeStrategy: "append" };
}

export const WRITE_TIMEOUT_MS = 30_000;

export function kubeClusterWriter(kc: KubeConfig, fieldManager: string, timeoutMs = WRITE_TIMEOUT_MS): ClusterWriter {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const timeout = requestTimeout(timeoutMs);
  // Generated patch calls pick JSON-patch by default (ANCHORS 6): say what we send.
  const mergePatch = requestTimeout(timeoutMs, setHeaderOptions("Content-Type", PatchStrategy.MergePatch));
  return {
    // Names are deterministic: AlreadyExists means an earlier pass (or a stale cache) made it.
    createPod: (namespace, body) => tolerating([CONFLICT], () => core.createNamespacedPod({ namespace, body, fieldManager }, timeout)),
    createPvc: (namespace, body) =>
      tolerating([CONFLICT], () => core.createNamespacedPersistentVolumeClaim({ namespace, body, fieldManager }, timeout)),
    createService: (namespace, body) => tolerating([CONFLICT], () => core.createNamespacedService({ namespace, body, fieldManager }, timeout)),
    // NotFound: already gone. Conflict: the uid precondition failed, the pod was replaced.
    deletePod: (namespace, name, { uid, gracePeriodSeconds }) =>
      tolerating([NOT_FOUND, CONFLICT], () =>
        core.deleteNamespacedPod({
          name,
          namespace,
          gracePeriodSeconds,
          body: { gracePeriodSeconds, ...(uid ? { preconditions: { uid } } : {}) },
        }, timeout),
      ),
    patchRunStatus: async (namespace, name, resourceVersion, status) => {
      await custom.patchNamespacedCustomObjectStatus(
        { group: API_GROUP, version: API_VERSION, plural: PLURAL, namespace, name, body: { metadata: { resourceVersion }, status }, fieldManager },
        mergePatch,
      );
    },
    createEvent: async (namespace, body) => {
      await core.createNamespacedEvent({ namespace, body }, timeout);
    },
    // NotFound or a uid conflict: the pod is gone or replaced, its request moot.
    patchPodAnnotation: (namespace, name, uid, key, value) =>
      tolerating([NOT_FOUND, CONFLICT], () =>
        core.patchNamespacedPod({ name, namespace, body: { metadata: { uid, annotations: { [key]: value } } }, fieldManager }, mergePatch),
      ),
    patchClaimAnnotation: (namespace, name, uid, key, value) =>
      tolerating([NOT_FOUND, CONFLICT], () =>
        core.patchNamespacedPersistentVolumeClaim({ name, namespace, body: { metadata: { uid, annotations: { [key]: value } } }, fieldManager }, mergePatch),
      ),
  };
}
