/**
 * A whole checkpoint save to the test world's S3 server (CheckpointStore on the object-store
 * backend: streamed multipart uploads of both files in parallel, sha256 as they go, a HEAD per
 * file, the fence check, the manifest last) vs plain lib-storage Uploads of the same encoded
 * bytes with the same client settings, both files in parallel and then the manifest. Prints
 * both medians and their ratio (what the commit protocol and hashing cost over the bytes alone).
 *   node --import tsx test/bench/s3-checkpoint-save.ts   (BENCH_WEIGHTS_MIB, BENCH_REPEATS)
 */
import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { pino } from "pino";
import { ObjectBackend } from "../../trainer/src/checkpoint/backends/object/object.js";
import { CheckpointStore } from "../../trainer/src/checkpoint/store.js";
import { encodeSafetensors } from "../../trainer/src/safetensors/format.js";
import { defaultPartSize, s3ClientConfig, S3ObjectStore, type S3StoreConfig } from "../../trainer/src/checkpoint/backends/object/s3.js";
import { startS3Server, storeLocation } from "../s3/server.js";
import { fakeSnapshot } from "../trainer/helpers/snapshots.js";
import { median, MiB, table, timeAlternately } from "./_util.js";

const weightsMiB = Number(process.env.BENCH_WEIGHTS_MIB ?? 32);
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const queueSize = 4;

// Adam's shape: the optimizer file is twice the weights.
function snapshot(step: number) {
  const s = fakeSnapshot(step);
  const n = (weightsMiB * MiB) / 4;
  const fill = (seed: number) => new Float32Array(n).map((_, i) => Math.sin(i * seed + step));
  s.weights.push({ name: "big/kernel", dtype: "F32", shape: [n], data: fill(1) });
  s.optimizerTensors = [
    { name: "big/kernel/m", dtype: "F32", shape: [n], data: fill(2) },
    { name: "big/kernel/v", dtype: "F32", shape: [n], data: fill(3) },
  ];
  return s;
}

const server = await startS3Server({ bucket: "bench" });
try {
  const config: S3StoreConfig = { ...storeLocation(server, "save"), partSize: defaultPartSize, queueSize };
  const client = new S3Client(s3ClientConfig(config));
  const store = new CheckpointStore({ backend: new ObjectBackend(new S3ObjectStore(client, config)), keep: 2, log: pino({ level: "silent" }), fence: undefined });
  let bytes = 0;
  let snap!: ReturnType<typeof snapshot>; // set by prepare, before each round
  let files: Uint8Array[][] = [];
  const { ours, theirs: plain } = await timeAlternately(
    repeats,
    () => store.save(snap, undefined),
    async (i) => {
      await Promise.all(
        files.map((chunks, f) =>
          new Upload({ client, params: { Bucket: server.bucket, Key: `plain/${i}/file-${f}`, Body: Buffer.concat(chunks) }, partSize: defaultPartSize, queueSize }).done(),
        ),
      );
      await new Upload({ client, params: { Bucket: server.bucket, Key: `plain/${i}/manifest.json`, Body: Buffer.from("{}") } }).done();
    },
    (i) => {
      // A new step's snapshot each round (a checkpoint of the same step would replace the last).
      snap = snapshot(i + 1);
      files = [
        encodeSafetensors(snap.weights, { format: "pt", step: String(i + 1) }),
        encodeSafetensors(snap.optimizerTensors, { optimizer: "adam" }),
      ];
      bytes = files.flat().reduce((n, c) => n + c.byteLength, 0);
    },
  );
  const o = median(ours);
  const p = median(plain);
  const mib = bytes / MiB;
  console.log(`checkpoint of ${mib.toFixed(0)} MiB (weights ${weightsMiB} MiB + Adam state) to ${server.endpoint}, median of ${repeats}, ${defaultPartSize / MiB} MiB parts, ${queueSize} in flight per file`);
  console.log(table(["save", "seconds", "MiB/s"], [["CheckpointStore.save (object store)", o, mib / o], ["plain lib-storage uploads", p, mib / p]]));
  console.log(`ratio (checkpoint save / plain upload): ${(o / p).toFixed(2)}`);
  client.destroy();
} finally {
  await server.stop();
}
