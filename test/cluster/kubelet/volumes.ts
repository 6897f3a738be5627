// Sets up a pod's volumes on the host, as the kubelet's volume manager does
// before any container starts: each volume becomes a host path that the
// containers' mount namespaces bind at their mount paths. Pod-local volumes
// live under the pod's directory (DIR/pods/<uid>/volumes/<plugin>/<name>).
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isNotFound } from "./api-client.js";
import type { PersistentVolume, PersistentVolumeClaim, Volume } from "./api-types.js";
import {
  configMapFiles,
  downwardFiles,
  projectedFiles,
  secretFiles,
  VolumeError,
  type SourceContext,
  type VolumeFile,
} from "./volume-files.js";

export interface PreparedVolume {
  path: string;
  /** ConfigMap, Secret, downward API and projected volumes are always read-only. */
  readOnly: boolean;
}

const DEFAULT_FILE_MODE = 0o644;

function writeVolume(dir: string, files: VolumeFile[], defaultMode: number | undefined): void {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of files) {
    const target = join(dir, f.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.content);
    chmodSync(target, f.mode ?? defaultMode ?? DEFAULT_FILE_MODE);
  }
}

function hostPathVolume(path: string, type: string | undefined): PreparedVolume {
  const exists = existsSync(path);
  switch (type ?? "") {
    case "":
    case "DirectoryOrCreate":
      if (!exists) mkdirSync(path, { recursive: true, mode: 0o755 });
      break;
    case "FileOrCreate":
      if (!exists) {
        mkdirSync(dirname(path), { recursive: true });
        closeSync(openSync(path, "a", 0o644));
      }
      break;
    case "Directory":
      if (!exists || !statSync(path).isDirectory()) throw new VolumeError(`hostPath type check failed: ${path} is not a directory`);
      break;
    case "File":
      if (!exists || !statSync(path).isFile()) throw new VolumeError(`hostPath type check failed: ${path} is not a file`);
      break;
    default:
      if (!exists) throw new VolumeError(`hostPath type check failed: ${path} does not exist`);
  }
  return { path, readOnly: false };
}

async function claimVolume(ctx: SourceContext, claimName: string, readOnly: boolean): Promise<PreparedVolume> {
  const ns = ctx.pod.metadata.namespace ?? "default";
  let pvc: PersistentVolumeClaim;
  try {
    pvc = await ctx.api.get<PersistentVolumeClaim>(`/api/v1/namespaces/${ns}/persistentvolumeclaims/${claimName}`);
  } catch (err) {
    if (isNotFound(err)) throw new VolumeError(`persistentvolumeclaim "${claimName}" not found`);
    throw err;
  }
  const pvName = pvc.spec.volumeName;
  if (!pvName || pvc.status?.phase !== "Bound") throw new VolumeError(`persistentvolumeclaim "${claimName}" is not bound`);
  const pv = await ctx.api.get<PersistentVolume>(`/api/v1/persistentvolumes/${pvName}`);
  const path = pv.spec.hostPath?.path ?? pv.spec.local?.path;
  if (!path) throw new VolumeError(`persistentvolume "${pvName}": only hostPath and local volumes can be mounted here`);
  if (!existsSync(path)) {
    if (pv.spec.local) throw new VolumeError(`persistentvolume "${pvName}": local path ${path} does not exist`);
    mkdirSync(path, { recursive: true });
  }
  return { path, readOnly };
}

async function prepareOne(ctx: SourceContext, podDir: string, v: Volume): Promise<PreparedVolume> {
  const dir = (plugin: string) => join(podDir, "volumes", plugin, v.name);
  if (v.emptyDir) {
    mkdirSync(dir("kubernetes.io~empty-dir"), { recursive: true, mode: 0o777 });
    return { path: dir("kubernetes.io~empty-dir"), readOnly: false };
  }
  if (v.hostPath) return hostPathVolume(v.hostPath.path, v.hostPath.type);
  if (v.persistentVolumeClaim) return claimVolume(ctx, v.persistentVolumeClaim.claimName, !!v.persistentVolumeClaim.readOnly);
  let files: VolumeFile[];
  let plugin: string;
  let mode: number | undefined;
  if (v.configMap) {
    files = await configMapFiles(ctx, v.configMap.name, v.configMap.items, v.configMap.optional);
    [plugin, mode] = ["kubernetes.io~configmap", v.configMap.defaultMode];
  } else if (v.secret) {
    files = await secretFiles(ctx, v.secret.secretName, v.secret.items, v.secret.optional);
    [plugin, mode] = ["kubernetes.io~secret", v.secret.defaultMode];
  } else if (v.downwardAPI) {
    files = downwardFiles(ctx, v.downwardAPI.items);
    [plugin, mode] = ["kubernetes.io~downward-api", v.downwardAPI.defaultMode];
  } else if (v.projected) {
    files = await projectedFiles(ctx, v.projected.sources);
    [plugin, mode] = ["kubernetes.io~projected", v.projected.defaultMode];
  } else {
    throw new VolumeError(`volume ${v.name}: this volume type is not supported by the process kubelet`);
  }
  writeVolume(dir(plugin), files, mode);
  return { path: dir(plugin), readOnly: true };
}

/** Throws VolumeError (with the kubelet's FailedMount wording) while a volume cannot be set up. */
export async function prepareVolumes(ctx: SourceContext, podDir: string): Promise<Map<string, PreparedVolume>> {
  const prepared = new Map<string, PreparedVolume>();
  for (const v of ctx.pod.spec.volumes ?? []) {
    try {
      prepared.set(v.name, await prepareOne(ctx, podDir, v));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new VolumeError(`MountVolume.SetUp failed for volume "${v.name}" : ${message}`);
    }
  }
  return prepared;
}
