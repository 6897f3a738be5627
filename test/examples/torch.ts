// The PyTorch example's program and whether this machine can run it: Debian's torch is built
// for Debian's interpreter, so never a python3 found first on PATH (a pyenv shim, say).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../trainer/helpers/trainer-process.js";

export const PYTHON = "/usr/bin/python3";
export const PYTORCH_TRAINER = [PYTHON, join(repoRoot, "examples/pytorch/train_ddp.py")];

/** Why the PyTorch tests cannot run here (a skip message), or false when they can. */
export function torchMissing(): string | false {
  const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status === 0) return false;
  const why = probe.error?.message ?? probe.stderr.trim().split("\n").at(-1);
  return `${PYTHON} cannot import torch (${why}): \`make pytorch\` installs Debian's python3-torch`;
}
