/**
 * The PyTorch DDP example (examples/pytorch/) keeps the trainer protocol as a gang: two ranks as
 * local processes with the gang environment the operator would set, gloo over loopback.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import { EXIT_CODES, PROGRESS_ANNOTATION } from "@resumable/protocol";
import { PYTORCH_TRAINER, torchMissing } from "./torch.js";
import { freePort } from "../cluster/processes.js";
import { fakeApiServer } from "../trainer/helpers/fake-api-server.js";
import { tempDir, testRandom, TrainerProcess, type TrainerResult } from "../trainer/helpers/trainer-process.js";

const skip = torchMissing();

const CONFIG = { totalSteps: 150, batchSize: 32, learningRate: 0.01, seed: 11, checkpoint: { everySteps: 50, keep: 3 } };

interface GangOptions {
  dir: string;
  attempt: number;
  config: Record<string, unknown>;
  worldSize?: number;
  env?: Record<string, string>;
  /** What the peers file holds; default: this attempt's gang, every rank on loopback. */
  peers?: { attempt: number; addresses: string[] };
  /** One rank's own settings, on top of `env`. */
  rankEnv?: (rank: number) => Record<string, string>;
}

/**
 * The ranks of one attempt, each with the environment the operator sets on a gang's pods. Only
 * rank 0 gets the checkpoint directory. MASTER_ADDR is a name that cannot resolve, as in a
 * cluster without DNS: the ranks find rank 0 in the peers file.
 */
async function startGang(o: GangOptions): Promise<TrainerProcess[]> {
  const worldSize = o.worldSize ?? 2;
  const peersFile = join(o.dir, `peers-${o.attempt}`);
  await writeFile(peersFile, JSON.stringify(o.peers ?? { attempt: o.attempt, addresses: Array<string>(worldSize).fill("127.0.0.1") }));
  const port = String(await freePort());
  return Array.from({ length: worldSize }, (_, rank) => {
    const env: Record<string, string> = {
      RESUMABLE_CONFIG: JSON.stringify(o.config),
      RESUMABLE_ATTEMPT: String(o.attempt),
      RESUMABLE_TERMINATION_LOG: join(o.dir, `termination-log-${o.attempt}-${rank}`),
      RESUMABLE_CHECKPOINT_REQUEST_FILE: "",
      ...(worldSize > 1 && {
        RANK: String(rank), WORLD_SIZE: String(worldSize), LOCAL_RANK: "0",
        MASTER_ADDR: "rank-0.gang.invalid", MASTER_PORT: port, RESUMABLE_PEERS_FILE: peersFile,
      }),
      ...(rank === 0 && { RESUMABLE_CHECKPOINT_DIR: join(o.dir, "checkpoints") }),
      ...o.env,
      ...o.rankEnv?.(rank),
    };
    return new TrainerProcess([], env, PYTORCH_TRAINER);
  });
}

async function finished(ranks: TrainerProcess[]): Promise<TrainerResult[]> {
  const results = await Promise.all(ranks.map((r) => r.done));
  results.forEach((r, rank) => assert.ok(r.summary, `rank ${rank} wrote its summary (code ${r.code}); stderr: ${r.stderr.slice(-1500)}`));
  return results;
}

const summaryOf = (r: TrainerResult) => r.summary as { reason: string; step: number; resumedFromStep: number | null; weightsSha256: string; checkpoint: { step: number; path: string } | null; failure?: { kind: string; message: string } };
const checkpointName = (step: number, attempt: number) => `ckpt-${String(step).padStart(8, "0")}-a${attempt}`;
const firstStep = (r: TrainerResult) => r.lines.find((l) => l.msg === "step")?.step;

describe("the PyTorch DDP example", { skip, timeout: 300_000 }, () => {
  test("SIGTERM to rank 1 stops both ranks at one step with rank 0's checkpoint there; the resume loses nothing and ends bit-identical", async () => {
    const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
    console.log(`seed ${seed} (TEST_SEED=${seed} repeats it)`);
    const stopAfter = 10 + testRandom(seed)(110);

    const straight = await finished(await startGang({ dir: await tempDir("pytorch-ddp-"), attempt: 1, config: CONFIG }));
    straight.forEach((r) => assert.equal(r.code, EXIT_CODES.completed, r.stderr));
    const expected = summaryOf(straight[0]!).weightsSha256;
    assert.equal(summaryOf(straight[1]!).weightsSha256, expected, "the ranks hold the same weights");

    const dir = await tempDir("pytorch-ddp-");
    const first = await startGang({ dir, attempt: 1, config: { ...CONFIG, stepDelayMs: 20 } });
    await first[1]!.waitFor((l) => l.msg === "step" && (l.step ?? 0) >= stopAfter);
    first[1]!.kill("SIGTERM");
    const stopped = await finished(first);
    stopped.forEach((r, rank) => assert.equal(r.code, EXIT_CODES.preempted, `rank ${rank}: ${r.stderr.slice(-1500)}`));
    const [s0, s1] = stopped.map(summaryOf);
    assert.equal(s0!.reason, "preempted");
    assert.equal(s1!.step, s0!.step, "both ranks stopped at the same step");
    assert.ok(s0!.step >= stopAfter && s0!.step < CONFIG.totalSteps, `stopped mid-run, at ${s0!.step}`);
    assert.equal(s0!.checkpoint?.step, s0!.step, "rank 0 committed a checkpoint at the step they stopped at");
    const committed = join(dir, "checkpoints", checkpointName(s0!.step, 1));
    const manifest = JSON.parse(readFileSync(join(committed, "manifest.json"), "utf8"));
    assert.equal(manifest.step, s0!.step);
    assert.equal(manifest.worldSize, 2);
    // A stop on a periodic step finds that step already saved: the final save is not repeated.
    assert.equal(manifest.kind, s0!.step % CONFIG.checkpoint.everySteps === 0 ? "periodic" : "final");
    assert.equal(manifest.files["state.pt"].sha256, createHash("sha256").update(readFileSync(join(committed, "state.pt"))).digest("hex"));

    const resumed = await finished(await startGang({ dir, attempt: 2, config: CONFIG }));
    resumed.forEach((r, rank) => {
      assert.equal(r.code, EXIT_CODES.completed, `rank ${rank}: ${r.stderr.slice(-1500)}`);
      assert.equal(summaryOf(r).resumedFromStep, s0!.step, `rank ${rank} resumed from the stop step`);
      assert.equal(firstStep(r), s0!.step + 1, `rank ${rank}'s first computed step follows the checkpoint`);
    });
    // The trainers' own records: the highest step attempt 1 reached minus where attempt 2 resumed.
    const reached = Math.max(...stopped.map((r) => summaryOf(r).step));
    assert.equal(reached - summaryOf(resumed[0]!).resumedFromStep!, 0, "no lost steps");
    for (const r of resumed) assert.equal(summaryOf(r).weightsSha256, expected, "bit-identical to the uninterrupted gang");
  });

  test("a SIGTERM while the gang forms: exit 143, not one step trained, no lost peer blamed", async () => {
    const dir = await tempDir("pytorch-ddp-");
    const ranks = await startGang({ dir, attempt: 1, config: CONFIG, env: { RESUMABLE_GANG_TIMEOUT_SECONDS: "5" } });
    ranks[0]!.kill("SIGSTOP"); // rank 0 never answers: the gang cannot form
    await ranks[1]!.waitFor((l) => l.msg === "joining the gang");
    ranks[1]!.kill("SIGTERM");
    const stopped = await ranks[1]!.done;
    ranks[0]!.kill("SIGKILL");
    assert.equal(stopped.code, EXIT_CODES.preempted, JSON.stringify(stopped.summary));
    assert.equal(summaryOf(stopped).reason, "preempted");
    assert.equal(firstStep(stopped), undefined, "not one step trained");
  });

  test("a corrupt newest checkpoint is quarantined and never loaded: the one before is", async () => {
    const dir = await tempDir("pytorch-ddp-");
    const config = { ...CONFIG, totalSteps: 100 };
    const [first] = await finished(await startGang({ dir, attempt: 1, config, worldSize: 1 }));
    assert.equal(first!.code, EXIT_CODES.completed, first!.stderr);
    const newest = join(dir, "checkpoints", checkpointName(100, 1), "state.pt");
    const bytes = readFileSync(newest);
    const middle = bytes.length >> 1;
    bytes[middle] = bytes[middle]! ^ 0xff;
    await writeFile(newest, bytes);

    const [second] = await finished(await startGang({ dir, attempt: 2, config: { ...config, totalSteps: 120 }, worldSize: 1 }));
    assert.equal(second!.code, EXIT_CODES.completed, second!.stderr);
    assert.equal(summaryOf(second!).resumedFromStep, 50);
    const warning = second!.lines.find((l) => l.msg === "corrupt checkpoint quarantined, trying the one before");
    assert.equal(warning?.checkpoint, checkpointName(100, 1));
    assert.match(String(warning?.reason), /sha256/);
    assert.ok(readdirSync(join(dir, "checkpoints", "quarantine")).some((n) => n.startsWith(checkpointName(100, 1))), "set aside, not deleted");
  });

  test("a checkpoint a crash left renamed aside mid-replacement is put back and resumed from", async () => {
    const dir = await tempDir("pytorch-ddp-");
    const [first] = await finished(await startGang({ dir, attempt: 1, config: { ...CONFIG, totalSteps: 20 }, worldSize: 1 }));
    assert.equal(first!.code, EXIT_CODES.completed, first!.stderr);
    await rename(join(dir, "checkpoints", checkpointName(20, 1)), join(dir, "checkpoints", `.replaced-${checkpointName(20, 1)}`));
    const [second] = await finished(await startGang({ dir, attempt: 2, config: { ...CONFIG, totalSteps: 30 }, worldSize: 1 }));
    assert.equal(second!.code, EXIT_CODES.completed, second!.stderr);
    assert.equal(summaryOf(second!).resumedFromStep, 20);
  });

  test("a checkpoint of another model's shapes: exit 2 naming it, nothing trained", async () => {
    const dir = await tempDir("pytorch-ddp-");
    const [first] = await finished(await startGang({ dir, attempt: 1, config: { ...CONFIG, totalSteps: 20 }, worldSize: 1 }));
    assert.equal(first!.code, EXIT_CODES.completed, first!.stderr);
    const [second] = await finished(await startGang({ dir, attempt: 2, config: { ...CONFIG, hiddenUnits: 16 }, worldSize: 1 }));
    assert.equal(second!.code, EXIT_CODES.config);
    assert.equal(summaryOf(second!).failure?.kind, "config");
    assert.match(summaryOf(second!).failure!.message, new RegExp(`${checkpointName(20, 1)} does not fit this model`));
    assert.equal(firstStep(second!), undefined);
  });

  test("checkpoints that exist but none loads: exit 5, no fresh start", async () => {
    const dir = await tempDir("pytorch-ddp-");
    const [first] = await finished(await startGang({ dir, attempt: 1, config: { ...CONFIG, totalSteps: 20 }, worldSize: 1 }));
    assert.equal(first!.code, EXIT_CODES.completed, first!.stderr);
    await writeFile(join(dir, "checkpoints", checkpointName(20, 1), "manifest.json"), "{");
    const [second] = await finished(await startGang({ dir, attempt: 2, config: CONFIG, worldSize: 1 }));
    assert.equal(second!.code, EXIT_CODES.checkpointsUnusable);
    assert.equal(summaryOf(second!).failure?.kind, "checkpointsUnusable");
    assert.equal(firstStep(second!), undefined, "not one step trained");
  });

  test("each rank merge-patches its own pod's progress annotation, the gang's checkpoint included", async () => {
    const api = await fakeApiServer(200);
    const dir = await tempDir("pytorch-ddp-");
    const ranks = await startGang({ dir, attempt: 1, config: { ...CONFIG, stepDelayMs: 10 }, env: api.env, rankEnv: (rank) => ({ RESUMABLE_POD_NAME: `run-1-${rank}` }) });
    const results = await finished(ranks);
    api.close();
    results.forEach((r) => assert.equal(r.code, EXIT_CODES.completed, r.stderr));
    for (const rank of [0, 1]) {
      const mine = api.patches.filter((p) => p.url === `/api/v1/namespaces/team-x/pods/run-1-${rank}`);
      assert.ok(mine.length >= 1, `rank ${rank} reported`);
      for (const p of mine) {
        assert.equal(p.method, "PATCH");
        assert.equal(p.headers["content-type"], "application/merge-patch+json");
        assert.equal(p.headers.authorization, "Bearer test-token");
      }
      const last = JSON.parse(mine.at(-1)!.body.metadata.annotations[PROGRESS_ANNOTATION]!);
      assert.equal(last.step, CONFIG.totalSteps);
      assert.equal(last.resumedFromStep, null);
      assert.equal(last.checkpoint.step, CONFIG.totalSteps);
      assert.equal(last.checkpoint.reason, "final");
      assert.equal(last.checkpoint.path, join(dir, "checkpoints", checkpointName(CONFIG.totalSteps, 1)), "rank 0's commit, as every rank reports it");
    }
  });

  test("a checkpoint request on one rank's node: every rank saves at the same step and trains on", async () => {
    const dir = await tempDir("pytorch-ddp-");
    const requestFile = join(dir, "checkpoint-request-rank-1");
    await writeFile(requestFile, "");
    const ranks = await startGang({
      dir, attempt: 1, config: { ...CONFIG, stepDelayMs: 20, checkpoint: { everySteps: 0, keep: 3 } },
      rankEnv: (rank): Record<string, string> => (rank === 1 ? { RESUMABLE_CHECKPOINT_REQUEST_FILE: requestFile } : {}),
    });
    await ranks[1]!.waitFor((l) => l.msg === "step" && (l.step ?? 0) >= 10);
    await writeFile(requestFile, JSON.stringify({ id: "aws-spot-itn@spot-b", reason: "aws-spot-itn on spot-b", at: new Date().toISOString() }));
    const early = await ranks[1]!.waitFor((l) => l.msg === "early checkpoint committed on request");
    const results = await finished(ranks);
    results.forEach((r) => assert.equal(r.code, EXIT_CODES.completed, r.stderr));
    assert.ok(typeof early.step === "number" && early.step < CONFIG.totalSteps, "saved mid-run");
    const commits = results[0]!.lines.filter((l) => l.msg === "checkpoint committed").map((l) => [l.step, l.reason]);
    assert.deepEqual(commits, [[early.step, "periodic"], [CONFIG.totalSteps, "final"]], "rank 0 committed at the step rank 1 was asked, then at the end");
  });

  test("a gang that never forms (no peers published, no DNS): exit 7 naming the peers file, not a hang", async () => {
    const dir = await tempDir("pytorch-ddp-");
    // The previous attempt's list: not this gang's addresses.
    const peers = { attempt: 2, addresses: ["127.0.0.1", "127.0.0.1"] };
    const ranks = await startGang({ dir, attempt: 3, config: CONFIG, peers, env: { RESUMABLE_GANG_TIMEOUT_SECONDS: "2" } });
    ranks[1]!.kill("SIGKILL"); // rank 0 alone
    const alone = await ranks[0]!.done;
    assert.equal(alone.code, EXIT_CODES.peerLost, alone.stderr.slice(-1500));
    assert.equal(summaryOf(alone).failure?.kind, "peerLost");
    assert.match(summaryOf(alone).failure!.message, /the gang never formed: no peers for attempt 3 and 2 ranks in .*peers-3/);
  });

  for (const [how, signal] of [["killed (SIGKILL)", "SIGKILL"], ["stalled (SIGSTOP)", "SIGSTOP"]] as const) {
    test(`a rank ${how}: the other exits 7 (peerLost) within the gloo timeout instead of hanging`, async () => {
      const dir = await tempDir("pytorch-ddp-");
      const ranks = await startGang({ dir, attempt: 1, config: { ...CONFIG, totalSteps: 100_000, stepDelayMs: 10 }, env: { RESUMABLE_GANG_TIMEOUT_SECONDS: "5" } });
      await ranks[0]!.waitFor((l) => l.msg === "step" && (l.step ?? 0) >= 10);
      ranks[1]!.kill(signal);
      const survivor = await ranks[0]!.done;
      ranks[1]!.kill("SIGKILL");
      assert.equal(survivor.code, EXIT_CODES.peerLost, survivor.stderr.slice(-1500));
      assert.equal(summaryOf(survivor).reason, "failed");
      assert.equal(summaryOf(survivor).failure?.kind, "peerLost");
      assert.ok(existsSync(join(dir, "termination-log-1-0")), "the summary reached the termination log");
    });
  }
});
