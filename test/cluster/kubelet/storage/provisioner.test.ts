// The local-path provisioner retries what failed: the reflector hands a claim out once, so a
// volume create lost to one failed request would otherwise leave the claim Pending for good.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { pino } from "pino";
import { eventually } from "../../../support/cluster.js";
import type { ApiClient } from "../api/client.js";
import type { PersistentVolumeClaim } from "../api/types.js";
import { LocalPathProvisioner } from "./provisioner.js";

const FAST = { initialMs: 20, maxMs: 40, resetAfterMs: 1_000 };

function claim(uid = "u1"): PersistentVolumeClaim {
  return {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "ckpt", namespace: "default", uid },
    spec: { storageClassName: "local-path", accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
    status: { phase: "Pending" },
  } as PersistentVolumeClaim;
}

/** An apiserver whose first `failures` creates fail as a reset connection would, and the claims cache. */
function flakyApi(failures: number, current: () => PersistentVolumeClaim | undefined) {
  const created: string[] = [];
  let creates = 0;
  const api = {
    async create(_path: string, body: { metadata: { name: string } }) {
      if (creates++ < failures) throw new Error("read ECONNRESET");
      created.push(body.metadata.name);
      return body;
    },
  } as unknown as ApiClient;
  return { api, cache: (key: string) => (key === "default/ckpt" ? current() : undefined), created, creates: () => creates };
}

describe("LocalPathProvisioner", () => {
  test("a volume create that fails is retried until the claim gets its volume", async () => {
    const pvc = claim();
    const world = flakyApi(2, () => pvc);
    const p = new LocalPathProvisioner(world.api, mkdtempSync(join(tmpdir(), "prov-")), pino({ level: "silent" }), world.cache, FAST);
    p.claimChanged(pvc);
    await eventually("the volume created", async () => (world.created.length ? true : undefined), 5_000);
    assert.deepEqual(world.created, ["pvc-u1"]);
    assert.equal(world.creates(), 3, "two failures, then the create that worked");
  });

  test("a claim deleted while its create is failing stops the retries", async () => {
    let pvc: PersistentVolumeClaim | undefined = claim();
    const world = flakyApi(Number.MAX_SAFE_INTEGER, () => pvc);
    const p = new LocalPathProvisioner(world.api, mkdtempSync(join(tmpdir(), "prov-")), pino({ level: "silent" }), world.cache, FAST);
    p.claimChanged(pvc);
    await eventually("a first failed create", async () => (world.creates() > 0 ? true : undefined), 5_000);
    pvc = undefined;
    const settled = world.creates();
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(world.creates() <= settled + 1, `no retries for a deleted claim (${settled} → ${world.creates()})`);
    assert.deepEqual(world.created, []);
  });
});
