/** Shared by the benchmarks (the leading _ keeps make bench from running it): the disk baseline (dd with fsync), small formatting helpers and a bounded pool of concurrent calls. */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { join } from "node:path";

export const MiB = 1024 * 1024;

/**
 * Seconds for `dd conv=fsync` to copy `source` (just written, so in the page cache) to a new
 * file in `dir`: the disk's honest speed for the very same bytes (a virtual disk may write
 * zeros from /dev/zero faster than real data).
 */
export function ddSeconds(source: string, dir: string): number {
  const file = join(dir, "dd-baseline.bin");
  settleDisk();
  const started = performance.now();
  execFileSync("dd", [`if=${source}`, `of=${file}`, `bs=${MiB}`, "conv=fsync"], { stdio: "ignore" });
  const seconds = (performance.now() - started) / 1000;
  rmSync(file, { force: true });
  return seconds;
}

/** Flushes all dirty pages first, so neither side pays for the other's writeback. */
export function settleDisk(): void {
  execFileSync("sync");
}

/**
 * Times two ways of doing the same thing, `repeats` times each, alternating which goes first
 * so neither always meets a warmer server or cache. `prepare` runs before each round, untimed.
 * Returns each one's seconds per round.
 */
export async function timeAlternately(
  repeats: number,
  ours: (round: number) => Promise<unknown>,
  theirs: (round: number) => Promise<unknown>,
  prepare: (round: number) => void = () => {},
): Promise<{ ours: number[]; theirs: number[] }> {
  const timed = async (run: () => Promise<unknown>) => {
    const started = performance.now();
    await run();
    return (performance.now() - started) / 1000;
  };
  const result = { ours: [] as number[], theirs: [] as number[] };
  for (let round = 0; round < repeats; round++) {
    prepare(round);
    const runOurs = async () => result.ours.push(await timed(() => ours(round)));
    const runTheirs = async () => result.theirs.push(await timed(() => theirs(round)));
    if (round % 2 === 0) {
      await runOurs();
      await runTheirs();
    } else {
      await runTheirs();
      await runOurs();
    }
  }
  return result;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === "number" ? formatNumber(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i]).length)));
  return cells.map((r) => r.map((c, i) => String(c).padStart(widths[i]!)).join("  ")).join("\n");
}

function formatNumber(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toFixed(3);
}

/** Runs `fn` over `items`, `width` at a time; results in the items' order. */
export async function pool<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  }));
  return out;
}

