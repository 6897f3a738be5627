// The kubelet's inputs: the node set (nodes.json) and the image map, each
// checked on load so a typo fails at start-up instead of as a pod that
// never runs.
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Taint } from "./api/types.js";

export interface NodeConfig {
  name: string;
  labels: Record<string, string>;
  taints: Taint[];
  capacity: Record<string, string>;
  /** Graceful node shutdown budget for spot-reclaim; 30 s when unset. */
  shutdownGracePeriodSeconds?: number;
}

export interface ImageEntry {
  command: string[];
  cwd?: string;
}

export type ImageMap = Record<string, ImageEntry>;

/**
 * The checkout this kubelet belongs to (test/cluster/kubelet/ → the repo root): where the
 * default image map finds the programs, and what plays the images' root filesystem.
 */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export function defaultImageMap(): ImageMap {
  return {
    "resumable/trainer": { command: [process.execPath, join(REPO_ROOT, "trainer", "dist", "cli.js")] },
    "resumable/operator": { command: [process.execPath, join(REPO_ROOT, "operator", "dist", "cli.js")] },
    // examples/pytorch/Dockerfile's image: Debian's torch is built for Debian's own interpreter.
    "resumable/pytorch-example": { command: ["/usr/bin/python3", join(REPO_ROOT, "examples", "pytorch", "train_ddp.py")] },
  };
}

export function loadNodes(file: string): NodeConfig[] {
  const raw = JSON.parse(readFileSync(file, "utf8")) as unknown;
  if (!Array.isArray(raw) || raw.length === 0) throw new Error(`${file}: expected a non-empty array of nodes`);
  const names = new Set<string>();
  return raw.map((entry: Partial<NodeConfig>, i) => {
    if (typeof entry.name !== "string" || !entry.name) throw new Error(`${file}[${i}]: name is required`);
    if (names.has(entry.name)) throw new Error(`${file}: node ${entry.name} appears twice`);
    names.add(entry.name);
    const capacity = entry.capacity ?? {};
    for (const r of ["cpu", "memory", "pods"]) {
      if (typeof capacity[r] !== "string") throw new Error(`${file}: node ${entry.name} needs capacity.${r} as a string`);
    }
    return {
      name: entry.name,
      labels: entry.labels ?? {},
      taints: entry.taints ?? [],
      capacity,
      shutdownGracePeriodSeconds: entry.shutdownGracePeriodSeconds,
    };
  });
}

export function loadImageMap(file: string | undefined): ImageMap {
  if (!file) return defaultImageMap();
  const raw = JSON.parse(readFileSync(file, "utf8")) as Record<string, Partial<ImageEntry>>;
  const map: ImageMap = {};
  for (const [image, entry] of Object.entries(raw)) {
    if (!Array.isArray(entry.command) || entry.command.length === 0) {
      throw new Error(`${file}: image ${image} needs a non-empty command array`);
    }
    map[image] = { command: entry.command.map(String), ...(entry.cwd ? { cwd: entry.cwd } : {}) };
  }
  return map;
}
