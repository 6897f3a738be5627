import { open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";

/** A newer attempt owns the checkpoint directory: exit code 3, nothing committed. */
export class FencedError extends Error {
  override readonly name = "FencedError";
}

export const fenceFile = "fence";

/**
 * Each attempt claims the checkpoint directory by writing its attempt number to the fence
 * file; a trainer checks the fence again right before every commit. A zombie on a
 * partitioned node (an older attempt still running) thus refuses to commit once its
 * successor has started, and never overwrites the successor's checkpoints. A restarted
 * container of the same attempt (same number) may go on.
 */
export class Fence {
  constructor(
    private readonly dir: string,
    readonly attempt: number,
  ) {}

  async claim(): Promise<void> {
    const owner = await this.owner();
    this.refuseIfSuperseded(owner);
    if (owner === this.attempt) return;
    const temp = join(this.dir, `${fenceFile}.${process.pid}`);
    const file = await open(temp, "w");
    try {
      await file.writeFile(`${this.attempt}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, join(this.dir, fenceFile));
    const dir = await open(this.dir, "r");
    await dir.sync().finally(() => dir.close());
  }

  async check(): Promise<void> {
    this.refuseIfSuperseded(await this.owner());
  }

  private refuseIfSuperseded(owner: number): void {
    if (owner > this.attempt) {
      throw new FencedError(`attempt ${owner} owns ${this.dir}; this is attempt ${this.attempt}: refusing to commit`);
    }
  }

  /** The attempt that owns the directory; 0 when none has claimed it. */
  private async owner(): Promise<number> {
    let text: string;
    try {
      text = await readFile(join(this.dir, fenceFile), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return 0;
      throw err;
    }
    const owner = Number(text.trim());
    if (!Number.isSafeInteger(owner)) throw new Error(`${join(this.dir, fenceFile)} holds ${JSON.stringify(text)}, not an attempt number`);
    return owner;
  }
}
