// The command-line tools the demo drives: helm and kubectl from PATH when
// they are new enough for it. helm is otherwise built once from its pinned
// module into the cache; kubectl is not (the pinned module set's go.sum does
// not cover it), so a missing or old one is a clear error.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { builtDir } from "../../test/cluster/binaries.js";

/** helm 3.8 (2022) and later install the chart as the demo does; helm 2 cannot. */
const HELM_MIN: Version = [3, 8];
/** The demo's kubectl verbs (get, apply, annotate, delete --wait) against the 1.34 apiserver. */
const KUBECTL_MIN: Version = [1, 30];

type Version = [major: number, minor: number];

export interface Tools {
  helm: string;
  kubectl: string;
}

export function demoTools(): Tools {
  return { kubectl: kubectl(), helm: helm() };
}

function helm(): string {
  const found = versionOnPath("helm", ["version", "--template", "{{.Version}}"], (out) => out);
  if (found && atLeast(found, HELM_MIN)) {
    console.log(`Using helm ${found} from PATH.`);
    return "helm";
  }
  console.log(`${found ? `helm ${found} on PATH is older than v${HELM_MIN.join(".")}` : "No helm on PATH"}: ` +
    "helm from its pinned module, built into ~/.cache/resumable unless already there …");
  return join(builtDir("test/tools/build.sh", "helm"), "helm");
}

function kubectl(): string {
  const found = versionOnPath("kubectl", ["version", "--client", "-o", "json"],
    (out) => (JSON.parse(out) as { clientVersion?: { gitVersion?: string } }).clientVersion?.gitVersion);
  if (found && atLeast(found, KUBECTL_MIN)) {
    console.log(`Using kubectl ${found} from PATH.`);
    return "kubectl";
  }
  throw new Error(`${found ? `kubectl ${found} on PATH is older than` : "no kubectl on PATH: the demo needs kubectl"} ` +
    `v${KUBECTL_MIN.join(".")} (https://kubernetes.io/docs/tasks/tools/)`);
}

/** The tool's version as it reports it, or undefined when it is not on PATH or does not answer. */
function versionOnPath(tool: string, args: string[], pick: (stdout: string) => string | undefined): string | undefined {
  try {
    return pick(execFileSync(tool, args, { stdio: ["ignore", "pipe", "ignore"], timeout: 10_000 }).toString().trim());
  } catch {
    return undefined;
  }
}

function atLeast(version: string, min: Version): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > min[0] || (major === min[0] && minor >= min[1]);
}
