/** The identity every cached object carries. */
export interface ObjectMeta {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string>; managedFields?: unknown[] };
}

/** `namespace/name`, or `name` for cluster-scoped objects: the workqueue's key format too. */
export function objectKey(obj: ObjectMeta): string {
  const name = obj.metadata?.name ?? "";
  const namespace = obj.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return slash < 0 ? { namespace: "", name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}
