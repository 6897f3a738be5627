import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { claimPodNetwork } from "./pod-network.js";

const stateDir = () => mkdtempSync(join(tmpdir(), "pod-network-"));

describe("pod networks of concurrent clusters", () => {
  it("two live clusters get different 127.X.0.0/16 ranges", () => {
    const a = claimPodNetwork(stateDir());
    const b = claimPodNetwork(stateDir());
    try {
      assert.notEqual(a.octet, b.octet);
    } finally {
      a.release();
      b.release();
    }
  });

  it("a claim whose process is gone is taken over; a restarted kubelet gets its octet back", async () => {
    const dir = stateDir();
    // A claim made by a child process that then exits: its pid is dead.
    const child = spawn(process.execPath, ["--import", "tsx", "-e", `
      import { claimPodNetwork } from ${JSON.stringify(new URL("./pod-network.ts", import.meta.url).pathname)};
      claimPodNetwork(${JSON.stringify(dir)});`], { stdio: "inherit" });
    const code = await new Promise((resolve) => child.on("exit", resolve));
    assert.equal(code, 0);
    const octet = Number(readFileSync(join(dir, "pod-network"), "utf8"));
    const again = claimPodNetwork(dir);
    try {
      assert.equal(again.octet, octet);
    } finally {
      again.release();
    }
  });
});
