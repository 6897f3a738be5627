/**
 * Prints the slowest test files of the last `make test`, from the lines test/support/file-times.ts
 * wrote for each phase: `node --import tsx test/support/slowest-files.ts DIR [COUNT]`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [dir, count = "10"] = process.argv.slice(2);
if (dir === undefined) {
  console.error("usage: slowest-files.ts DIR [COUNT]: DIR holds the file-times reporter's output");
  process.exit(2);
}
const rows = readdirSync(dir)
  .flatMap((name) => readFileSync(join(dir, name), "utf8").split("\n").map((line) => ({ phase: name.replace(/\.tsv$/, ""), line })))
  .filter(({ line }) => line.trim() !== "")
  .map(({ phase, line }) => {
    const [seconds = "", file = ""] = line.split("\t");
    return { phase, file, seconds: Number(seconds) };
  })
  .sort((a, b) => b.seconds - a.seconds);
const total = rows.reduce((sum, row) => sum + row.seconds, 0);
console.log(`the ${Math.min(Number(count), rows.length)} slowest of ${rows.length} test files (${Math.round(total)} s in all, file by file):`);
for (const row of rows.slice(0, Number(count))) console.log(`${row.seconds.toFixed(1).padStart(8)} s  ${row.phase.padEnd(12)} ${row.file}`);
console.log("(the integration phase starts the longest files first by test/integration-seconds.tsv: copy .test-times/integration.tsv over it when the order drifts)");
