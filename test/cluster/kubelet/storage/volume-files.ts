// The files of the volumes whose content comes from the API: ConfigMaps,
// Secrets, the downward API, service-account tokens, and projected volumes
// made of those. Each source yields a list of files; the caller writes them.
import type { ApiClient } from "../api/client.js";
import type { DownwardAPIVolumeFile, KeyToPath, Pod, VolumeProjection } from "../api/types.js";
import type { ObjectLookups } from "../pod/container/env.js";
import { podField, type PodRuntimeFields } from "../pod/field-ref.js";

export interface VolumeFile {
  path: string;
  content: Buffer;
  mode?: number;
}

/** A volume that cannot be set up yet: the pod waits in ContainerCreating and retries. */
export class VolumeError extends Error {
  override name = "VolumeError";
}

export interface SourceContext {
  pod: Pod;
  api: ApiClient;
  lookups: ObjectLookups;
  rt: PodRuntimeFields;
}

function keyedFiles(
  kind: "configmap" | "secret",
  data: Record<string, Buffer>,
  items: KeyToPath[] | undefined,
  optional: boolean | undefined,
): VolumeFile[] {
  if (!items) return Object.entries(data).map(([key, content]) => ({ path: key, content }));
  const files: VolumeFile[] = [];
  for (const item of items) {
    const content = data[item.key];
    if (content === undefined) {
      if (optional) continue;
      throw new VolumeError(`${kind} references non-existent config key: ${item.key}`);
    }
    files.push({ path: item.path, content, ...(item.mode !== undefined ? { mode: item.mode } : {}) });
  }
  return files;
}

export async function configMapFiles(ctx: SourceContext, name: string, items?: KeyToPath[], optional?: boolean) {
  const cm = await ctx.lookups.configMap(ctx.pod.metadata.namespace ?? "default", name);
  if (!cm) {
    if (optional) return [];
    throw new VolumeError(`configmap "${name}" not found`);
  }
  const data: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) data[k] = Buffer.from(v, "utf8");
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) data[k] = Buffer.from(v, "base64");
  return keyedFiles("configmap", data, items, optional);
}

export async function secretFiles(ctx: SourceContext, name: string, items?: KeyToPath[], optional?: boolean) {
  const secret = await ctx.lookups.secret(ctx.pod.metadata.namespace ?? "default", name);
  if (!secret) {
    if (optional) return [];
    throw new VolumeError(`secret "${name}" not found`);
  }
  const data: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) data[k] = Buffer.from(v, "base64");
  return keyedFiles("secret", data, items, optional);
}

export function downwardFiles(ctx: SourceContext, items: DownwardAPIVolumeFile[] | undefined): VolumeFile[] {
  return (items ?? []).map((item) => {
    if (!item.fieldRef) throw new VolumeError(`downwardAPI item ${item.path}: only fieldRef is supported by the process kubelet`);
    let value: string;
    try {
      value = podField(ctx.pod, item.fieldRef.fieldPath, ctx.rt);
    } catch (err) {
      throw new VolumeError((err as Error).message);
    }
    return { path: item.path, content: Buffer.from(value, "utf8"), ...(item.mode !== undefined ? { mode: item.mode } : {}) };
  });
}

/** A token from the TokenRequest API, bound to the pod, as the kubelet's token manager gets it. */
async function tokenFile(ctx: SourceContext, source: NonNullable<VolumeProjection["serviceAccountToken"]>): Promise<VolumeFile> {
  const { pod } = ctx;
  const ns = pod.metadata.namespace ?? "default";
  const sa = pod.spec.serviceAccountName || "default";
  try {
    const res = await ctx.api.create<{ status: { token: string } }>(`/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {
        ...(source.audience ? { audiences: [source.audience] } : {}),
        expirationSeconds: source.expirationSeconds ?? 3600,
        boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata.name, uid: pod.metadata.uid },
      },
    });
    return { path: source.path, content: Buffer.from(res.status.token, "utf8") };
  } catch (err) {
    throw new VolumeError(`failed to fetch token: ${(err as Error).message}`);
  }
}

export async function projectedFiles(ctx: SourceContext, sources: VolumeProjection[] | undefined): Promise<VolumeFile[]> {
  const files: VolumeFile[] = [];
  for (const s of sources ?? []) {
    if (s.configMap) files.push(...(await configMapFiles(ctx, s.configMap.name, s.configMap.items, s.configMap.optional)));
    if (s.secret) files.push(...(await secretFiles(ctx, s.secret.name, s.secret.items, s.secret.optional)));
    if (s.downwardAPI) files.push(...downwardFiles(ctx, s.downwardAPI.items));
    if (s.serviceAccountToken) files.push(await tokenFile(ctx, s.serviceAccountToken));
  }
  return files;
}
