// docs/metrics.md (operator) and docs/trainer-protocol.md (trainer) describe
// exactly the metrics the registries export: none undocumented, none stale.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { documentedMetricNames } from "./metric-names.js";

/** Metric names in the first column of a doc's tables. */
function tableNames(doc: string, prefix: RegExp): string[] {
  const text = readFileSync(new URL(`../../docs/${doc}`, import.meta.url), "utf8");
  return [...text.matchAll(/^\| `(resumable_\w+)` \|/gm)].map((m) => m[1]!).filter((name) => prefix.test(name));
}

const exported = documentedMetricNames();

it("docs/metrics.md has a row for every operator metric and no other", () => {
  assert.deepEqual(tableNames("metrics.md", /^resumable_(?!trainer_)/).sort(), [...exported.operator].sort());
});

it("docs/trainer-protocol.md has a row for every trainer metric and no other", () => {
  assert.deepEqual(tableNames("trainer-protocol.md", /^resumable_trainer_/).sort(), [...exported.trainer].sort());
});
