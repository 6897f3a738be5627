// The chart as Kubernetes objects: `helm template` with the given values.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { RunResult } from "../support/process.js";
import { CHART_DIR, run } from "./tools.js";

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export const RELEASE = "resumable";
export const NAMESPACE = "resumable-system";

/** Runs helm with `values` in a temporary values file whose path is `--values FILE` in `args`. */
export async function helmWithValues(args: string[], values: object): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), "resumable-values-"));
  try {
    const file = join(dir, "values.json");
    writeFileSync(file, JSON.stringify(values));
    return await run("helm", [...args, "--values", file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` (its exit code and output). */
export function helmTemplate(values: object = {}, namespace = NAMESPACE): Promise<RunResult> {
  return helmWithValues(["template", RELEASE, CHART_DIR, "--namespace", namespace], values);
}

/** The rendered objects; throws with helm's message when rendering fails. */
export async function renderChart(values: object = {}, namespace = NAMESPACE): Promise<KubeObject[]> {
  const result = await helmTemplate(values, namespace);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => {
      if (doc.errors.length) throw new Error(`helm template rendered invalid YAML: ${doc.errors.join("; ")}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null);
}

export function findObject(objects: KubeObject[], kind: string, name?: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (!found) throw new Error(`no ${kind}${name ? ` ${name}` : ""} among ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ")}`);
  return found;
}
