// The protocol's CheckpointLocation: the operator encodes it into the trainer's variables
// (toEnv), the trainer decodes it (fromEnv), and the spec's schema checks a bucket and prefix
// by the same rules. Property tests are seeded: LOCATION_SEED reproduces a run.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { bucketNameProblem, CheckpointLocation, CheckpointLocationError, ENV, prefixProblem, type BucketLocation } from "@resumable/protocol";
import { s3StorageSchema } from "../../operator/src/api/checkpoint-spec.js";

const seed = Number(process.env.LOCATION_SEED ?? 20261205);
console.log(`checkpoint location: LOCATION_SEED=${seed}`);
const params = { seed, numRuns: 300 };

const BUCKET_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789._-";
const char = (chars: string) => fc.constantFrom(...chars.split(""));
const bucketArb = fc
  .string({ unit: char(BUCKET_CHARS), minLength: 3, maxLength: 63 })
  .filter((b) => bucketNameProblem(b) === undefined);
/** Segments of any characters but "/", never "." or ".."; inner empty segments ("a//b") included. */
const segmentArb = fc.string({ unit: fc.oneof(char("ab.-_ é\n"), fc.string({ minLength: 1, maxLength: 1 }).filter((c) => c !== "/")), maxLength: 8 });
const prefixArb = fc
  .array(segmentArb, { maxLength: 5 })
  .map((parts) => parts.join("/"))
  .filter((p) => !p.startsWith("/") && !p.endsWith("/") && prefixProblem(p) === undefined);
const optionalText = (arb: fc.Arbitrary<string>) => fc.option(arb, { nil: undefined });
const bucketLocationArb: fc.Arbitrary<BucketLocation> = fc.record({
  kind: fc.constant("bucket" as const),
  bucket: bucketArb,
  prefix: prefixArb,
  endpoint: optionalText(fc.constantFrom("http://s3.storage:8333", "https://storage.googleapis.com", "http://[::1]:9000/path")),
  region: optionalText(fc.string({ minLength: 1, maxLength: 20 })),
  credentialsDir: optionalText(fc.string({ minLength: 1, maxLength: 40 })),
});
const locationArb: fc.Arbitrary<CheckpointLocation> = fc.oneof(
  fc.record({ kind: fc.constant("volume" as const), directory: fc.string({ minLength: 1, maxLength: 40 }) }),
  bucketLocationArb,
);

const refusal = (env: Record<string, string>, message: RegExp) =>
  assert.throws(() => CheckpointLocation.fromEnv(env), (err: Error) => err instanceof CheckpointLocationError && message.test(err.message), `${JSON.stringify(env)} is refused with ${message}`);

describe("protocol: CheckpointLocation", () => {
  it("fromEnv(toEnv(location)) is the location, for volumes and buckets alike", () => {
    fc.assert(
      fc.property(locationArb, (location) => {
        // fast-check builds records without a prototype; the spread gives them the plain one.
        assert.deepEqual(CheckpointLocation.fromEnv(CheckpointLocation.toEnv(location)), { ...location });
      }),
      params,
    );
  });

  it("toEnv sets the directory, or the bucket's variables in the operator's order, and nothing unset", () => {
    assert.deepEqual(CheckpointLocation.toEnv({ kind: "volume", directory: "/checkpoints", claimName: "r-checkpoints" }), { [ENV.checkpointDir]: "/checkpoints" });
    const env = CheckpointLocation.toEnv({ kind: "bucket", bucket: "ml-checkpoints", prefix: "team/a", region: "eu-west-1", credentialsDir: "/etc/s3" });
    assert.deepEqual(Object.entries(env), [
      [ENV.checkpointUrl, "s3://ml-checkpoints/team/a"],
      [ENV.s3Region, "eu-west-1"],
      [ENV.s3CredentialsDir, "/etc/s3"],
    ]);
  });

  it("fromEnv: the URL wins over the directory, empty variables are unset, a prefix's outer slashes mean nothing", () => {
    assert.deepEqual(CheckpointLocation.fromEnv({ [ENV.checkpointUrl]: "s3://my_gcs.bucket-1//runs/a//", [ENV.checkpointDir]: "/c", [ENV.s3Endpoint]: "", [ENV.s3Region]: "" }), {
      kind: "bucket",
      bucket: "my_gcs.bucket-1",
      prefix: "runs/a",
      endpoint: undefined,
      region: undefined,
      credentialsDir: undefined,
    });
    assert.deepEqual(CheckpointLocation.fromEnv({ [ENV.checkpointUrl]: "", [ENV.checkpointDir]: "/c" }), { kind: "volume", directory: "/c" });
    assert.equal((CheckpointLocation.fromEnv({ [ENV.checkpointUrl]: "s3://bucket" }) as BucketLocation).prefix, "", "the bucket's root");
  });

  it("fromEnv refuses each problem by name", () => {
    refusal({}, /^RESUMABLE_CHECKPOINT_DIR is required: the directory checkpoints are written to \(or RESUMABLE_CHECKPOINT_URL=s3:\/\/bucket\/prefix/);
    refusal({ [ENV.checkpointDir]: "" }, /RESUMABLE_CHECKPOINT_DIR is required/);
    refusal({ [ENV.checkpointUrl]: "gs://bucket/p" }, /^RESUMABLE_CHECKPOINT_URL="gs:\/\/bucket\/p": expected s3:\/\/bucket\/prefix$/);
    refusal({ [ENV.checkpointUrl]: "s3://ab/p" }, /the bucket "ab" must be a bucket name: 3-63 characters, not 2$/);
    refusal({ [ENV.checkpointUrl]: `s3://${"a".repeat(64)}/p` }, /3-63 characters, not 64$/);
    refusal({ [ENV.checkpointUrl]: "s3://MyBucket/p" }, /the bucket "MyBucket" must be a bucket name: lower-case letters/);
    refusal({ [ENV.checkpointUrl]: "s3://bucket-/p" }, /starting and ending with a letter or digit$/);
    refusal({ [ENV.checkpointUrl]: "s3://my..bucket/p" }, /no two adjacent periods$/);
    refusal({ [ENV.checkpointUrl]: "s3://192.168.5.4/p" }, /not an IP address$/);
    refusal({ [ENV.checkpointUrl]: "s3://bucket/runs/../other" }, /the prefix "runs\/..\/other" must not contain '.' or '..' segments$/);
    refusal({ [ENV.checkpointUrl]: "s3://bucket/./p" }, /must not contain '.' or '..' segments$/);
    refusal({ [ENV.checkpointUrl]: `s3://bucket/${"p".repeat(513)}` }, /the prefix "p+" must be at most 512 characters, not 513$/);
    refusal({ [ENV.checkpointUrl]: "s3://bucket/p", [ENV.s3Endpoint]: "minio:9000" }, /^RESUMABLE_S3_ENDPOINT="minio:9000": must be an http:\/\/ or https:\/\/ URL$/);
    refusal({ [ENV.checkpointUrl]: "s3://bucket/p", [ENV.s3Endpoint]: "http:// host" }, /must be an http:\/\/ or https:\/\/ URL$/);
  });

  it("the spec's schema takes a bucket name exactly when the protocol does", () => {
    const spec = (bucket: string) => s3StorageSchema.safeParse({ bucket, prefix: "p" }).success;
    const names = fc.oneof(fc.string({ unit: char("ab9.-_A/"), maxLength: 66 }), fc.constantFrom("192.168.5.4", "a..b", "1.2.3.4x"));
    fc.assert(fc.property(names, (name) => assert.equal(spec(name), bucketNameProblem(name) === undefined, name)), params);
  });

  it("the spec's schema takes a prefix exactly when the protocol does (the spec also wants one)", () => {
    const spec = (prefix: string) => s3StorageSchema.safeParse({ bucket: "bucket", prefix }).success;
    const prefixes = fc.oneof(fc.string({ unit: char("a./"), maxLength: 10 }), fc.constant("p".repeat(513)));
    fc.assert(fc.property(prefixes, (prefix) => assert.equal(spec(prefix), prefix !== "" && prefixProblem(prefix) === undefined, prefix)), params);
  });
});
