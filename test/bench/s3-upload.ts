/**
 * A 64 MiB put through the trainer's S3 object store vs a plain lib-storage Upload of the same
 * bytes with the same client settings, to the test world's S3 server started for this run.
 * Prints both medians and their ratio (goal: the store costs nothing over the plain upload).
 *   node --import tsx test/bench/s3-upload.ts   (BENCH_SIZE_MIB, BENCH_REPEATS; RESUMABLE_S3_SERVER picks the server)
 */
import { randomBytes } from "node:crypto";
import { S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { defaultPartSize, s3ClientConfig, S3ObjectStore, type S3StoreConfig } from "../../trainer/src/checkpoint/backends/object/s3.js";
import { startS3Server, storeLocation } from "../s3/server.js";
import { median, MiB, table, timeAlternately } from "./_util.js";

const sizeMiB = Number(process.env.BENCH_SIZE_MIB ?? 64);
const repeats = Number(process.env.BENCH_REPEATS ?? 5);
const queueSize = 4;

const server = await startS3Server({ bucket: "bench" });
try {
  const config: S3StoreConfig = {
    ...storeLocation(server, "bench"),
    partSize: defaultPartSize,
    queueSize,
  };
  const client = new S3Client(s3ClientConfig(config));
  const store = new S3ObjectStore(client, config);
  // As a checkpoint hands them over: one contiguous tensor buffer per tensor.
  const tensors = [randomBytes(sizeMiB * MiB - 4096), randomBytes(4096)];
  const whole = Buffer.concat(tensors); // the plain upload gets one contiguous body, its best case

  const { ours, theirs: plain } = await timeAlternately(
    repeats,
    (i) => store.putObject(`ours-${i}`, tensors),
    (i) => new Upload({ client, params: { Bucket: server.bucket, Key: `bench/plain-${i}`, Body: whole }, partSize: defaultPartSize, queueSize }).done(),
  );
  const o = median(ours);
  const p = median(plain);
  console.log(`${sizeMiB} MiB to ${server.endpoint}, median of ${repeats}, ${defaultPartSize / MiB} MiB parts, ${queueSize} in flight`);
  console.log(table(["upload", "seconds", "MiB/s"], [["object store", o, sizeMiB / o], ["plain lib-storage", p, sizeMiB / p]]));
  console.log(`ratio (object store / plain): ${(o / p).toFixed(2)}`);
  store.close();
} finally {
  await server.stop();
}
