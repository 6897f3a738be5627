// Which host paths a container sees where: its volumeMounts (with subPath
// and readOnly) plus the termination-message file at its
// terminationMessagePath. A missing subPath is created as a directory, as
// the kubelet does; a subPath naming a file is mounted as a file.
import { existsSync, mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Container } from "../../api/types.js";
import { REPO_ROOT } from "../../config.js";
import type { PreparedVolume } from "../../storage/volumes.js";
import type { BindMount } from "./wrapper-script.js";

const DEFAULT_TERMINATION_MESSAGE_PATH = "/dev/termination-log";

export function containerMounts(
  container: Container,
  volumes: Map<string, PreparedVolume>,
  terminationLogFile: string,
): BindMount[] {
  const mounts: BindMount[] = (container.volumeMounts ?? []).map((m) => {
    const volume = volumes.get(m.name);
    if (!volume) throw new Error(`volumeMount ${m.name} refers to no volume of the pod`);
    const source = m.subPath ? join(volume.path, m.subPath) : volume.path;
    if (!existsSync(source)) mkdirSync(source, { recursive: true });
    return {
      source,
      target: m.mountPath,
      readOnly: volume.readOnly || !!m.readOnly,
      isFile: !statSync(source).isDirectory(),
    };
  });
  mounts.push({
    source: terminationLogFile,
    target: container.terminationMessagePath || DEFAULT_TERMINATION_MESSAGE_PATH,
    readOnly: false,
    isFile: true,
  });
  // The repo checkout plays our images' root filesystem (image-command.ts).
  return shadowingLast(withoutImageShadowing(mounts, REPO_ROOT));
}

const under = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);

/**
 * A real container's mounts come from outside its root filesystem; here every source is a
 * host path, and a mount at e.g. /tmp (an emptyDir for a read-only root) would hide the
 * sources of later mounts that live under the host's /tmp (volumes, the termination log).
 * So a mount whose target covers another mount's source goes after it.
 */
export function shadowingLast(mounts: BindMount[]): BindMount[] {
  const shadows = (m: BindMount) => mounts.some((other) => other !== m && under(other.source, m.target));
  return [...mounts.filter((m) => !shadows(m)), ...mounts.filter(shadows)];
}

/**
 * A real container's mount at /tmp covers the image's /tmp only; here the "image" is a host
 * directory, and a checkout under /tmp (a CI clone, say) would vanish under the mount and
 * the container could not start. Such a mount is left out: the process runs on the host's
 * directory there instead, which is all a process container can offer.
 */
export function withoutImageShadowing(mounts: BindMount[], imageRoot: string): BindMount[] {
  return mounts.filter((m) => !under(imageRoot, m.target));
}
