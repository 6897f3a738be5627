// The README shows what `make demo` ends with. Its values are one run's, but its rows must be
// the rows the demo prints today: a row added to the summary and not to the README fails here.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { summaryTable } from "../../examples/demo/summary.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
const labels = (text: string) => text.split("\n").map((l) => l.split(/\s{3,}/)[0]!.trim()).filter((l) => l !== "");

it("the README's demo summary has the rows the demo prints, in order", () => {
  const block = [...readme.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1]!).find((b) => b.includes("goodput (useful training / wall time)"));
  assert.ok(block, "README.md has no demo summary block");
  const shown = labels(block.split("\n\n").at(-1)!);
  const printed = labels(summaryTable({ apiVersion: "resumable.dev/v1alpha1", kind: "TrainingRun", metadata: { name: "x" }, spec: {} } as never));
  assert.deepEqual(shown, printed);
});
