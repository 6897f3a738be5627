/**
 * A node:test reporter that writes one line per test file, "<seconds>\t<file>", from the
 * runner's own file-level events: a file's test:dequeue (it starts) to its test:complete (its
 * process has ended), so set-up and tear-down in before/after hooks count, as CI pays them.
 * `make test` runs it beside the TAP reporter and ends by printing the ten slowest files
 * (test/support/slowest-files.ts), so a file creeping toward CI's budget shows before it lands.
 * Plain JavaScript: the runner loads reporters without the tsx loader the tests run under.
 */
import { relative } from "node:path";
import process from "node:process";
import { performance } from "node:perf_hooks";

/** @param {AsyncIterable<{ type: string, data?: { name?: string, file?: string } }>} source */
export default async function* fileTimes(source) {
  /** @type {Map<string, number>} */
  const started = new Map();
  for await (const event of source) {
    const { name, file } = event.data ?? {};
    // File-level events are the ones named by their own file; a test inside it has its title.
    if (file === undefined || name !== file) continue;
    if (event.type === "test:dequeue") started.set(file, performance.now());
    const start = started.get(file);
    if (event.type === "test:complete" && start !== undefined) {
      yield `${((performance.now() - start) / 1000).toFixed(1)}\t${relative(process.cwd(), file)}\n`;
    }
  }
}
