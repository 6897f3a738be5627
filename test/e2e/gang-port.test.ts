// The machine's gang port (gang-port.ts): one holder at a time across processes, and a holder
// that died without releasing does not block the next one.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { holdGangPort } from "./gang-port.js";

test("a second holder of the gang port waits until the first releases it", async () => {
  const release = await holdGangPort();
  const got: (() => void)[] = [];
  const waiting = holdGangPort(() => {}).then((r) => { got.push(r); return r; });
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(got.length, 0, "the second holder is still waiting");
  release();
  const second = await waiting;
  second();
});

test("a holder that died without releasing the gang port does not block the next", async () => {
  const child = spawnSync(process.execPath, ["--import", "tsx", "-e",
    `import { holdGangPort } from ${JSON.stringify(new URL("./gang-port.ts", import.meta.url).pathname)}; await holdGangPort();`], { stdio: "inherit" });
  assert.equal(child.status, 0);
  const release = await holdGangPort();
  release();
});
