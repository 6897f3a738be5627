import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { ApiClient } from "../api/client.js";
import type { Pod } from "../api/types.js";
import type { ObjectLookups } from "../pod/container/env.js";
import type { Logger } from "../log.js";
import { PodVolumes } from "./pod-volumes.js";
import { prepareVolumes, refreshDownwardVolumes, writeVolume } from "./volumes.js";

const root = mkdtempSync(join(tmpdir(), "kubelet-volumes-"));
after(() => rmSync(root, { recursive: true, force: true }));

function pod(annotations: Record<string, string>): Pod {
  return {
    metadata: { name: "p", namespace: "default", uid: "u1", annotations },
    spec: {
      containers: [],
      volumes: [{ name: "requests", downwardAPI: { items: [{ path: "checkpoint-request", fieldRef: { fieldPath: "metadata.annotations['resumable.dev/checkpoint-request']" } }] } }],
    },
  } as unknown as Pod;
}
const ctx = (p: Pod) => ({ pod: p, api: {} as ApiClient, lookups: {} as ObjectLookups, rt: { podIP: "", hostIP: "" } });

test("a volume is written as AtomicWriter writes it: files behind a ..data symlink swapped by rename", () => {
  const dir = join(root, "atomic");
  assert.equal(writeVolume(dir, [{ path: "a", content: Buffer.from("1") }], undefined), true);
  const first = readlinkSync(join(dir, "..data"));
  assert.equal(readlinkSync(join(dir, "a")), join("..data", "a"), "the visible name goes through ..data");
  assert.equal(writeVolume(dir, [{ path: "a", content: Buffer.from("1") }], undefined), false, "unchanged content is not rewritten");
  const inode = statSync(dir).ino;
  assert.equal(writeVolume(dir, [{ path: "a", content: Buffer.from("2") }], undefined), true);
  assert.notEqual(readlinkSync(join(dir, "..data")), first, "a new version directory");
  assert.equal(readFileSync(join(dir, "a"), "utf8"), "2");
  assert.equal(statSync(dir).ino, inode, "the directory a container has bind-mounted stays the same");
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith("..") && n !== "..data").length, 1, "the old version is removed");
});

test("an annotation change reaches the downward API file of a running pod", async () => {
  const podDir = join(root, "pod");
  const volumes = await prepareVolumes(ctx(pod({})), podDir);
  const file = join(volumes.get("requests")!.path, "checkpoint-request");
  assert.equal(readFileSync(file, "utf8"), "", "no annotation: an empty file");
  assert.deepEqual(refreshDownwardVolumes(ctx(pod({ "resumable.dev/checkpoint-request": '{"id":"n1"}' })), podDir), ["requests"]);
  assert.equal(readFileSync(file, "utf8"), '{"id":"n1"}');
  assert.deepEqual(refreshDownwardVolumes(ctx(pod({ "resumable.dev/checkpoint-request": '{"id":"n1"}', other: "x" })), podDir), [], "another annotation: the file is unchanged");
});

test("an annotation patched while the volumes are being set up is in the file once they are (a gang's peers)", async () => {
  const podDir = join(root, "racing");
  // The pod as the set-up first reads it, then as the API has it by the time the set-up ends.
  let current = pod({});
  const volumes = new PodVolumes({
    api: {} as ApiClient, lookups: {} as ObjectLookups, hostIP: "", podDir, podIP: () => "127.1.0.2",
    log: { info: () => {}, warn: () => {} } as unknown as Logger,
    failedMount: () => {},
    pod: () => {
      const seen = current;
      current = pod({ "resumable.dev/checkpoint-request": '{"id":"late"}' });
      return seen;
    },
  });
  assert.equal(await volumes.setUp(new AbortController().signal), true);
  const file = join(podDir, "volumes", "kubernetes.io~downward-api", "requests", "checkpoint-request");
  assert.equal(readFileSync(file, "utf8"), '{"id":"late"}');
});
