import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { encodePeers, ENV, GANG_ENV, PEERS_FILE } from "@resumable/protocol";
import { trainingConfigSchema } from "@resumable/protocol/reference-trainer";
import { ConfigError } from "../../trainer/src/config-error.js";
import { PeerLostError } from "../../trainer/src/gang/collective.js";
import { GangListener } from "../../trainer/src/gang/form.js";
import { openCollective, readGangEnv } from "../../trainer/src/gang/open.js";
import { waitForPeers } from "../../trainer/src/gang/peers.js";
import { freePorts, identity, liveHandles, listenAll } from "./helpers/gang.js";
import { tempDir } from "./helpers/trainer-process.js";

const soon = (ms: number) => performance.now() + ms;
const localhost = (n: number) => Array.from({ length: n }, () => "127.0.0.1");

describe("the peers file", () => {
  it("is waited for until the operator publishes this attempt's list", async () => {
    const file = join(await tempDir("gang-peers-"), "peers");
    await writeFile(file, encodePeers({ attempt: 1, addresses: localhost(2) }));
    const waiting = waitForPeers(file, { attempt: 2, worldSize: 2 }, soon(10_000));
    setTimeout(() => void writeFile(file, encodePeers({ attempt: 2, addresses: ["10.0.0.1", "10.0.0.2"] })), 300);
    assert.deepEqual((await waiting).addresses, ["10.0.0.1", "10.0.0.2"]);
  });

  it("that can never be right (a list for another world size) is a ConfigError at once, naming the file", async () => {
    const file = join(await tempDir("gang-peers-"), "peers");
    await writeFile(file, encodePeers({ attempt: 2, addresses: localhost(3) }));
    await assert.rejects(waitForPeers(file, { attempt: 2, worldSize: 2 }, soon(60_000)), (err: Error) => err instanceof ConfigError && err.message.includes(file) && /3 addresses for a world of 2/.test(err.message));
  });

  it("still missing at the bound is PeerLostError saying which file and what it held", async () => {
    const dir = await tempDir("gang-peers-");
    await assert.rejects(waitForPeers(join(dir, "absent"), { attempt: 1, worldSize: 2 }, soon(300)), (err: Error) => err instanceof PeerLostError && /absent held no addresses .* nothing readable \(ENOENT\)/.test(err.message));
    const stale = join(dir, "stale");
    await writeFile(stale, encodePeers({ attempt: 1, addresses: localhost(2) }));
    await assert.rejects(waitForPeers(stale, { attempt: 2, worldSize: 2 }, soon(300)), (err: Error) => err instanceof PeerLostError && err.message.includes(stale) && err.message.includes('\\"attempt\\":1'));
  });
});

describe("the handshake", () => {
  for (const [what, stranger] of [
    ["an older attempt (a zombie rank)", identity(1, 2, { attempt: 1 })],
    ["another run", identity(1, 2, { run: "other-uid", attempt: 2 })],
    ["another world size", identity(1, 3, { attempt: 2 })],
  ] as const) {
    it(`refuses a rank of ${what}, and the gang still forms with the right one`, async () => {
      const refused: string[] = [];
      const rank0 = await GangListener.listen(identity(0, 2, { attempt: 2 }), { host: "127.0.0.1", port: 0, peerTimeoutMs: 5000, onRefused: (r) => refused.push(r) });
      const forming = rank0.form({ addresses: localhost(2), ports: [rank0.port, 0], deadline: soon(10_000) });
      const zombie = await GangListener.listen(stranger, { host: "127.0.0.1", port: 0, peerTimeoutMs: 5000 });
      await assert.rejects(zombie.form({ addresses: localhost(stranger.worldSize), ports: [rank0.port, zombie.port, 0], deadline: soon(10_000) }), (err: Error) => err instanceof PeerLostError && err.peer === 0 && /refused/.test(err.message));
      assert.equal(refused.length, 1);
      assert.match(refused[0]!, /is not a peer of rank 0\/2 of attempt 2/);
      const rank1 = await GangListener.listen(identity(1, 2, { attempt: 2 }), { host: "127.0.0.1", port: 0, peerTimeoutMs: 5000 });
      const [links0, links1] = await Promise.all([forming, rank1.form({ addresses: localhost(2), ports: [rank0.port, rank1.port], deadline: soon(10_000) })]);
      assert.deepEqual([[...links0.keys()], [...links1.keys()]], [[1], [0]]);
      [...links0.values(), ...links1.values()].forEach((l) => l.destroy(l.lostError("test over")));
    });
  }

  it("refuses a second claimant of a rank that has joined", async () => {
    const [rank0, rank1, impostor] = await listenAll(3);
    const refused: string[] = [];
    const rank0b = await GangListener.listen(identity(0, 3), { host: "127.0.0.1", port: 0, peerTimeoutMs: 5000, onRefused: (r) => refused.push(r) });
    rank0!.close();
    const ports = [rank0b.port, rank1!.port, impostor!.port];
    const forming0 = rank0b.form({ addresses: localhost(3), ports, deadline: soon(2000) });
    // Rank 1 joins rank 0 (and waits for rank 2, which never dials it); the impostor claims rank 1 again.
    const forming1 = rank1!.form({ addresses: localhost(3), ports, deadline: soon(2000) });
    while (refused.length === 0) {
      const twin = await GangListener.listen(identity(1, 3), { host: "127.0.0.1", port: 0, peerTimeoutMs: 5000 });
      await assert.rejects(twin.form({ addresses: localhost(3), ports, deadline: soon(2000) }), /refused/).catch(() => {});
      twin.close();
    }
    assert.match(refused[0]!, /rank 1 has already joined/);
    await Promise.allSettled([forming0, forming1]);
    impostor!.close();
  });

  it("ends in PeerLostError at the formation bound when a peer never starts, on both sides", async () => {
    const [rank0, rank1] = await listenAll(2);
    const [absent] = await freePorts(1);
    const ports = [absent!, absent!];
    rank0!.close();
    await assert.rejects(rank1!.form({ addresses: localhost(2), ports, deadline: soon(500) }), (err: Error) => err instanceof PeerLostError && err.peer === 0 && /could not be reached within the formation bound/.test(err.message));
    const lonely = await GangListener.listen(identity(0, 2), { host: "127.0.0.1", port: 0, peerTimeoutMs: 5000 });
    await assert.rejects(lonely.form({ addresses: localhost(2), ports, deadline: soon(300) }), (err: Error) => err instanceof PeerLostError && err.peer === 1 && /did not connect within the formation bound/.test(err.message));
  });

  it("ends in PeerLostError when the peer accepts the connection but never answers the handshake", async () => {
    const sockets: Socket[] = [];
    const mute = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => mute.listen({ host: "127.0.0.1", port: 0 }, resolve));
    const [rank0, rank1] = await listenAll(2);
    rank0!.close();
    const mutePort = (mute.address() as { port: number }).port;
    await assert.rejects(rank1!.form({ addresses: localhost(2), ports: [mutePort, rank1!.port], deadline: soon(400) }), (err: Error) => err instanceof PeerLostError && err.peer === 0);
    sockets.forEach((s) => s.destroy());
    mute.close();
  });
});

describe("openCollective", () => {
  it("forms a gang from the environment and the peers file, and a world of one without either", async () => {
    const sockets = () => liveHandles().filter((h) => h.startsWith("TCP")).length;
    const before = sockets();
    const dir = await tempDir("gang-open-");
    const peersFile = join(dir, "peers");
    const ports = await freePorts(2);
    const gang = trainingConfigSchema.parse({ totalSteps: 1 }).gang;
    const env = (rank: number) => readGangEnv({ [GANG_ENV.rank]: String(rank), [GANG_ENV.worldSize]: "2", [GANG_ENV.peersFile]: peersFile, [ENV.attempt]: "3", [ENV.run]: "demo" });
    const opening = Promise.all([0, 1].map((rank) => openCollective(gang, env(rank), { ports })));
    setTimeout(() => void writeFile(peersFile, encodePeers({ attempt: 3, addresses: localhost(2) })), 200);
    const collectives = await opening;
    const sums = await Promise.all(collectives.map((c) => c.allReduceSum(Float32Array.of(c.rank + 1, 0.5))));
    sums.forEach((s) => assert.deepEqual([...s], [3, 1]));
    await Promise.all(collectives.map((c) => c.close()));
    const solo = await openCollective(gang, readGangEnv({}));
    assert.equal(solo.worldSize, 1);
    assert.ok(sockets() <= before, `no socket left open: ${sockets()} now, ${before} before`);
  });

  it("refuses a peers file that lists another IP for this rank than the pod's own", async () => {
    const peersFile = join(await tempDir("gang-open-"), "peers");
    await writeFile(peersFile, encodePeers({ attempt: 1, addresses: ["10.0.0.1", "127.0.0.1"] }));
    const gang = trainingConfigSchema.parse({ totalSteps: 1 }).gang;
    const env = readGangEnv({ [GANG_ENV.rank]: "1", [GANG_ENV.worldSize]: "2", [GANG_ENV.peersFile]: peersFile, [ENV.run]: "demo", [ENV.podIp]: "127.0.0.2" });
    await assert.rejects(openCollective(gang, env, { port: 0 }), (err: Error) => err instanceof ConfigError && /lists 127.0.0.1 for rank 1, but this pod's IP is 127.0.0.2/.test(err.message));
  });

  it("reads the rank's environment, with clear errors for what cannot be a gang", () => {
    assert.deepEqual(readGangEnv({}), { run: "", attempt: 1, rank: 0, worldSize: 1, peersFile: PEERS_FILE, podIp: undefined });
    assert.throws(() => readGangEnv({ [GANG_ENV.rank]: "2", [GANG_ENV.worldSize]: "2", [ENV.run]: "r" }), /RESUMABLE_RANK=2: expected a rank below RESUMABLE_WORLD_SIZE=2/);
    assert.throws(() => readGangEnv({ [GANG_ENV.worldSize]: "two" }), /RESUMABLE_WORLD_SIZE="two": expected an integer >= 1/);
    assert.throws(() => readGangEnv({ [GANG_ENV.worldSize]: "2" }), /RESUMABLE_RANK is required with RESUMABLE_WORLD_SIZE/);
    assert.throws(() => readGangEnv({ [GANG_ENV.rank]: "0", [GANG_ENV.worldSize]: "2" }), /needs RESUMABLE_RUN_UID or RESUMABLE_RUN/);
  });

  it("has config bounds and names a typo", () => {
    const parsed = trainingConfigSchema.safeParse({ totalSteps: 1, gang: { peerTimeoutSeconds: 0, formationTimeout: 5 } });
    const problems = parsed.error?.issues.map((i) => [...i.path, ...("keys" in i ? i.keys : [])].join(".")).sort();
    assert.deepEqual(problems, ["gang.formationTimeout", "gang.peerTimeoutSeconds"]);
    assert.deepEqual(trainingConfigSchema.parse({ totalSteps: 1 }).gang, { formationTimeoutSeconds: 300, peerTimeoutSeconds: 60, allReduce: "ring" });
  });
});
