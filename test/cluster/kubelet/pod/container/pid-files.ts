// One empty file per container process under DIR/pids, named by pid, so
// `make cluster-down` can kill what a SIGKILLed kubelet left behind.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export class PidFiles {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  add(pid: number): void {
    writeFileSync(join(this.dir, String(pid)), "");
  }

  remove(pid: number): void {
    rmSync(join(this.dir, String(pid)), { force: true });
  }
}
