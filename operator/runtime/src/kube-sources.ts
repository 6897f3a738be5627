import {
  type CoreV1Event,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type V1Node,
  type V1PersistentVolumeClaim,
  type V1Pod,
} from "@kubernetes/client-node";
// Not re-exported by the package root, but the very serializer its generated list calls use:
// decoding watch events with it gives them the same form (Dates for timestamps).
import { ObjectSerializer } from "@kubernetes/client-node/dist/gen/models/ObjectSerializer.js";
import type { ListPage, ResourceSource } from "./watcher.js";
import type { ObjectMeta } from "./object-key.js";

interface Scope {
  /** One namespace, or every namespace when unset. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

interface ListArgs {
  limit: number;
  _continue?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

interface ListResult<T> {
  items: T[];
  metadata?: { resourceVersion?: string; _continue?: string; continue?: string };
}

function source<T extends ObjectMeta>(
  name: string,
  watchPath: string,
  labelSelector: string | undefined,
  list: (args: ListArgs) => Promise<ListResult<T>>,
  decodeWatched: (raw: unknown) => T,
  fieldSelector?: string,
): ResourceSource<T> {
  return {
    name,
    watchPath,
    labelSelector,
    ...(fieldSelector === undefined ? {} : { fieldSelector }),
    decodeWatched,
    async list({ limit, continueToken }): Promise<ListPage<T>> {
      const result = await list({ limit, _continue: continueToken, labelSelector, ...(fieldSelector === undefined ? {} : { fieldSelector }) });
      return {
        items: result.items,
        resourceVersion: result.metadata?.resourceVersion ?? "",
        // Typed lists name it `_continue`; custom objects come back as raw JSON: `continue`.
        continueToken: result.metadata?._continue ?? result.metadata?.continue,
      };
    },
  };
}

const deserializeAs =
  <T>(type: string) =>
  (raw: unknown): T =>
    ObjectSerializer.deserialize(raw, type, "") as T;

/** Core/v1 namespaced collections: `/api/v1/namespaces/<ns>/<plural>` or `/api/v1/<plural>`. */
function corePath(plural: string, namespace: string | undefined): string {
  return namespace ? `/api/v1/namespaces/${namespace}/${plural}` : `/api/v1/${plural}`;
}

function scopeName(plural: string, namespace: string | undefined): string {
  return namespace ? `${plural}/${namespace}` : plural;
}

export function podSource(kc: KubeConfig, scope: Scope): ResourceSource<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  const { namespace } = scope;
  return source(
    scopeName("pods", namespace),
    corePath("pods", namespace),
    scope.labelSelector,
    (args) => (namespace ? core.listNamespacedPod({ namespace, ...args }) : core.listPodForAllNamespaces(args)),
    deserializeAs<V1Pod>("V1Pod"),
  );
}

export function pvcSource(kc: KubeConfig, scope: Scope): ResourceSource<V1PersistentVolumeClaim> {
  const core = kc.makeApiClient(CoreV1Api);
  const { namespace } = scope;
  return source(
    scopeName("persistentvolumeclaims", namespace),
    corePath("persistentvolumeclaims", namespace),
    scope.labelSelector,
    (args) =>
      namespace
        ? core.listNamespacedPersistentVolumeClaim({ namespace, ...args })
        : core.listPersistentVolumeClaimForAllNamespaces(args),
    deserializeAs<V1PersistentVolumeClaim>("V1PersistentVolumeClaim"),
  );
}

/** Core/v1 Events, e.g. the kubelet's FailedMount about pods (`fieldSelector: reason=FailedMount`). */
export function eventSource(kc: KubeConfig, scope: Scope): ResourceSource<CoreV1Event> {
  const core = kc.makeApiClient(CoreV1Api);
  const { namespace } = scope;
  return source(
    scopeName("events", namespace),
    corePath("events", namespace),
    scope.labelSelector,
    (args) => (namespace ? core.listNamespacedEvent({ namespace, ...args }) : core.listEventForAllNamespaces(args)),
    deserializeAs<CoreV1Event>("CoreV1Event"),
    scope.fieldSelector,
  );
}

export function nodeSource(kc: KubeConfig): ResourceSource<V1Node> {
  const core = kc.makeApiClient(CoreV1Api);
  return source("nodes", "/api/v1/nodes", undefined, (args) => core.listNode(args), deserializeAs<V1Node>("V1Node"));
}

export interface CustomResource {
  group: string;
  version: string;
  plural: string;
}

/**
 * A custom resource stays plain JSON (string timestamps) both ways: client-node has no model
 * for it, and its schema (zod) is the place that gives it a type.
 */
export function customObjectSource<T extends ObjectMeta>(
  kc: KubeConfig,
  resource: CustomResource,
  scope: Scope,
): ResourceSource<T> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const { group, version, plural } = resource;
  const { namespace } = scope;
  const base = `/apis/${group}/${version}`;
  return source(
    scopeName(plural, namespace),
    namespace ? `${base}/namespaces/${namespace}/${plural}` : `${base}/${plural}`,
    scope.labelSelector,
    (args) =>
      (namespace
        ? custom.listNamespacedCustomObject({ group, version, plural, namespace, ...args })
        : custom.listClusterCustomObject({ group, version, plural, ...args })) as Promise<ListResult<T>>,
    (raw) => raw as T,
  );
}
