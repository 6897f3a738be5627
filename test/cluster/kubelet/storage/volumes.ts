// Sets up a pod's volumes on the host, as the kubelet's volume manager does
// before any container starts: each volume becomes a host path that the
// containers' mount namespaces bind at their mount paths. Pod-local volumes
// live under the pod's directory (DIR/pods/<uid>/volumes/<plugin>/<name>).
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isNotFound } from "../api/client.js";
import type { PersistentVolume, PersistentVolumeClaim, Volume } from "../api/types.js";
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

/**
 * Writes a volume's files as the kubelet's AtomicWriter (pkg/volume/util/atomic_writer.go)
 * does, so a reader never sees half an update: the files go into a new hidden, timestamped
 * directory, the `..data` symlink is swapped to it by a rename, and each top-level name is a
 * symlink through `..data`. The directory itself stays (it is bind-mounted into the
 * container; replacing it would leave the container on the old one). Unchanged content is
 * not rewritten. Returns whether anything changed.
 */
export function writeVolume(dir: string, files: VolumeFile[], defaultMode: number | undefined): boolean {
  mkdirSync(dir, { recursive: true });
  const data = join(dir, DATA_LINK);
  const current = existsSync(data) ? readlinkSync(data) : undefined;
  if (current !== undefined && sameContent(join(dir, current), files)) return false;
  const version = `..${new Date().toISOString().replace(/[-:.]/g, "_")}.${process.pid}${Math.random().toString(36).slice(2, 8)}`;
  for (const f of files) {
    const target = join(dir, version, f.path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, f.content);
    chmodSync(target, f.mode ?? defaultMode ?? DEFAULT_FILE_MODE);
  }
  mkdirSync(join(dir, version), { recursive: true });
  const tmp = join(dir, `${DATA_LINK}_tmp`);
  rmSync(tmp, { force: true });
  symlinkSync(version, tmp);
  renameSync(tmp, data);
  const top = new Set(files.map((f) => f.path.split("/")[0]!));
  for (const name of top) if (!existsSync(join(dir, name))) symlinkSync(join(DATA_LINK, name), join(dir, name));
  for (const name of readdirSync(dir)) {
    if (name === DATA_LINK || name === version) continue;
    if (name.startsWith("..") || !top.has(name)) rmSync(join(dir, name), { recursive: true, force: true });
  }
  return true;
}

const DATA_LINK = "..data";

function sameContent(versionDir: string, files: VolumeFile[]): boolean {
  try {
    const count = (d: string): number => readdirSync(d, { withFileTypes: true }).reduce((n, e) => n + (e.isDirectory() ? count(join(d, e.name)) : 1), 0);
    return count(versionDir) === files.length && files.every((f) => readFileSync(join(versionDir, f.path)).equals(f.content));
  } catch {
    return false;
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

/**
 * On a pod update the kubelet marks the pod's volumes for remount
 * (ActualStateOfWorld.MarkRemountRequired) and rewrites those whose content comes from the pod:
 * downwardAPI and projected volumes with downwardAPI items. So a changed label or annotation
 * reaches their files within moments. Returns the names of the volumes whose files changed.
 */
export function refreshDownwardVolumes(ctx: SourceContext, podDir: string): string[] {
  const changed: string[] = [];
  for (const v of ctx.pod.spec.volumes ?? []) {
    if (v.downwardAPI) {
      if (writeVolume(join(podDir, "volumes", "kubernetes.io~downward-api", v.name), downwardFiles(ctx, v.downwardAPI.items), v.downwardAPI.defaultMode)) changed.push(v.name);
    } else if (v.projected?.sources?.some((s) => s.downwardAPI) && !v.projected.sources.some((s) => s.serviceAccountToken || s.configMap || s.secret)) {
      // Only pure downward projections: the others would need API calls (tokens, ConfigMaps)
      // the process kubelet makes only at start-up (docs/local-cluster.md).
      const files = v.projected.sources.flatMap((s) => downwardFiles(ctx, s.downwardAPI?.items));
      if (writeVolume(join(podDir, "volumes", "kubernetes.io~projected", v.name), files, v.projected.defaultMode)) changed.push(v.name);
    }
  }
  return changed;
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
