// The plain scrape config docs/observability.md offers is one Prometheus loads.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { it } from "node:test";
import { run } from "./tools.js";

const doc = readFileSync(new URL("../../docs/observability.md", import.meta.url), "utf8");

it("the documented scrape config passes promtool check config", async () => {
  const block = /<!-- scrape-config:[^>]*-->\n```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block, "docs/observability.md has no marked scrape-config block");
  const dir = mkdtempSync(join(tmpdir(), "resumable-docs-"));
  try {
    const file = join(dir, "prometheus.yml");
    writeFileSync(file, block);
    const result = await run("promtool", ["check", "config", "--syntax-only", file]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
