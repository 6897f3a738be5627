import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { EXIT_CODES, encodePeers, GANG_ENV, ENV } from "@resumable/protocol";
import { PeerLostError } from "../../trainer/src/gang/collective.js";
import { freePorts, inProcessGang, liveHandles } from "./helpers/gang.js";
import { repoRoot, tempDir } from "./helpers/trainer-process.js";

describe("a lost or silent peer", () => {
  it("that connects and then says nothing ends the others' all-reduce with PeerLostError naming it, and every later call too", async () => {
    const gang = await inProcessGang(3, { peerTimeoutMs: 300 });
    // Rank 1 formed the gang but never makes the call: a stalled process.
    const [r0, r2] = await Promise.allSettled([gang[0]!.allReduceSum(new Float32Array(8)), gang[2]!.allReduceSum(new Float32Array(8))]);
    for (const result of [r0, r2]) {
      assert.equal(result.status, "rejected");
      assert.ok((result as PromiseRejectedResult).reason instanceof PeerLostError);
    }
    // Ring: rank 2 waits on rank 1 directly, and names it.
    const direct = (r2 as PromiseRejectedResult).reason as PeerLostError;
    assert.equal(direct.peer, 1);
    assert.match(direct.message, /rank 1 .*sent nothing for 0.3 s/);
    await assert.rejects(gang[2]!.broadcast(new Uint8Array(1)), (err: Error) => err === direct);
    await Promise.all(gang.map((c) => c.close()));
  });

  it("that closes its connections ends a pending call at once, naming the rank", async () => {
    const gang = await inProcessGang(2, { peerTimeoutMs: 60_000, algorithm: "star" });
    const pending = gang[0]!.allReduceSum(new Float32Array(8));
    await gang[1]!.close();
    await assert.rejects(pending, (err: Error) => err instanceof PeerLostError && err.peer === 1 && /rank 1 .*closed the connection/.test(err.message));
    await gang[0]!.close();
  });

  it("close() leaves no socket or timer that keeps the process alive, and later calls reject with PeerLostError", async () => {
    const before = liveHandles().length;
    const gang = await inProcessGang(3);
    await Promise.all(gang.map((c) => c.allReduceSum(new Float32Array(5))));
    await Promise.all(gang.map((c) => c.close()));
    assert.deepEqual(liveHandles().slice(before), []);
    await assert.rejects(gang[1]!.gather(new Uint8Array(1)), PeerLostError);
  });

  it("killed with SIGKILL mid all-reduce (a child process) ends every other rank with exit peerLost (7) within the bound", async () => {
    const dir = await tempDir("gang-kill-");
    const peersFile = join(dir, "peers");
    const worldSize = 3;
    const ports = await freePorts(worldSize);
    await writeFile(peersFile, encodePeers({ attempt: 4, addresses: ports.map(() => "127.0.0.1") }));
    const ranks = Array.from({ length: worldSize }, (_, rank) => {
      const child = spawn(process.execPath, ["--import", "tsx", join(repoRoot, "test/trainer/helpers/gang-rank.ts")], {
        cwd: repoRoot,
        env: {
          ...process.env,
          [GANG_ENV.rank]: String(rank),
          [GANG_ENV.worldSize]: String(worldSize),
          [GANG_ENV.peersFile]: peersFile,
          [ENV.attempt]: "4",
          [ENV.runUid]: "uid-kill-test",
          GANG_TEST_PORTS: JSON.stringify(ports),
          GANG_TEST_PEER_TIMEOUT: "5",
        },
        stdio: ["ignore", "pipe", "inherit"],
      });
      let output = "";
      const rounds = new Promise<void>((resolve) => child.stdout.on("data", (d: Buffer) => (output += d) && /round 20/.test(output) && resolve()));
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      return { child, rounds, exited, output: () => output };
    });
    await Promise.all(ranks.map((r) => r.rounds));
    ranks[1]!.child.kill("SIGKILL");
    const codes = await Promise.all(ranks.map((r) => r.exited));
    assert.equal(codes[1], null, "rank 1 was killed");
    for (const rank of [0, 2]) {
      assert.equal(codes[rank], EXIT_CODES.peerLost, `rank ${rank} exits peerLost: ${ranks[rank]!.output()}`);
      assert.match(ranks[rank]!.output(), /PeerLostError: rank \d/);
    }
    // Rank 2 receives from rank 1 in the ring: it is the one that sees the loss first hand.
    assert.match(ranks[2]!.output(), /PeerLostError: rank 1 /);
  });
});
