// What a container runs, as Docker decides it: the image's entrypoint comes
// from the image map, the pod's `command` replaces it, `args` are appended.
// An image the map doesn't know runs the pod's command as given on the host.
import type { Container } from "../../api/types.js";
import type { ImageMap } from "../../config.js";

export interface ResolvedCommand {
  argv: string[];
  cwd?: string;
}

/** `registry:5000/resumable/trainer:1.2@sha256:…` → `registry:5000/resumable/trainer`. */
export function imageName(image: string): string {
  const withoutDigest = image.split("@")[0] ?? image;
  const slash = withoutDigest.lastIndexOf("/");
  const colon = withoutDigest.lastIndexOf(":");
  return colon > slash ? withoutDigest.slice(0, colon) : withoutDigest;
}

function lookup(map: ImageMap, image: string) {
  const name = imageName(image);
  return map[name] ?? map[name.replace(/^docker\.io\/(library\/)?/, "")];
}

/** Throws with the runtime's message when there is nothing to run. */
export function resolveCommand(container: Container, map: ImageMap): ResolvedCommand {
  const entry = container.image ? lookup(map, container.image) : undefined;
  const entrypoint = container.command ?? entry?.command ?? [];
  const argv = [...entrypoint, ...(container.args ?? [])];
  if (argv.length === 0) throw new Error("failed to generate container spec: no command specified");
  const cwd = container.workingDir ?? entry?.cwd;
  return cwd ? { argv, cwd } : { argv };
}
