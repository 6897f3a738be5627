// What the runtime's reflector lists and watches, over the kubelet's own JSON client: the
// apiserver's plain JSON both ways, so listed and watched objects already have one form.
import type { ResourceSource } from "@resumable/kube-runtime";
import type { ApiClient } from "./client.js";
import type { ObjectMeta } from "./types.js";

interface ListResult<T> {
  metadata: { resourceVersion: string; continue?: string };
  items: T[];
}

export function jsonSource<T extends { metadata: ObjectMeta }>(
  api: ApiClient,
  path: string,
  selectors: { fieldSelector?: string } = {},
): ResourceSource<T> {
  return {
    name: path,
    watchPath: path,
    fieldSelector: selectors.fieldSelector,
    decodeWatched: (raw) => raw as T,
    async list({ limit, continueToken }) {
      const result = await api.get<ListResult<T>>(path, { ...selectors, limit, continue: continueToken });
      return { items: result.items, resourceVersion: result.metadata.resourceVersion, continueToken: result.metadata.continue };
    },
  };
}
