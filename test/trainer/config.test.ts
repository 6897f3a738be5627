import assert from "node:assert/strict";
import { test } from "node:test";
import { checkResumable } from "../../trainer/src/config/compat.js";
import { readEnv } from "../../trainer/src/config/env.js";
import { ConfigError } from "../../trainer/src/config-error.js";
import { parseConfig } from "../../trainer/src/config/load.js";
import { configHash } from "../../trainer/src/config/schema.js";

const issueExample = `
model: mlp            # mlp | cnn
dataset: mnist
totalSteps: 2000
batchSize: 64
learningRate: 0.001
optimizer: adam
seed: 42
backend: auto
checkpoint: {everySteps: 200, everySeconds: 300, keep: 3}
`;

test("the issue's example config parses, with defaults filled in", () => {
  const c = parseConfig(issueExample, "example");
  assert.equal(c.totalSteps, 2000);
  assert.equal(c.hiddenUnits, 128);
  assert.deepEqual(c.checkpoint, { everySteps: 200, everySeconds: 300, keep: 3 });
  assert.deepEqual(parseConfig('{"epochs": 2}', "json").checkpoint, { everySteps: 200, everySeconds: 300, keep: 3 });
});

const invalid: [string, string, RegExp][] = [
  ["an unknown field", "totalSteps: 10\nlearningrate: 0.1", /learningrate: unknown field/],
  ["an unknown nested field", "totalSteps: 10\ncheckpoint: {every: 5}", /checkpoint\.every: unknown field/],
  ["a wrong enum value", "totalSteps: 10\nmodel: resnet", /model: .*"mlp"/],
  ["a negative number", "totalSteps: 10\nbatchSize: -1", /batchSize: /],
  ["a fraction where an integer is needed", "totalSteps: 10.5", /totalSteps: /],
  ["a string for a number", "totalSteps: 10\nlearningRate: fast", /learningRate: /],
  ["both totalSteps and epochs", "totalSteps: 10\nepochs: 2", /totalSteps: set exactly one of totalSteps and epochs/],
  ["neither totalSteps nor epochs", "model: mlp", /set exactly one/],
  ["wasm with the cnn", "totalSteps: 10\nmodel: cnn\nbackend: wasm", /backend: wasm cannot train a cnn/],
  ["a keep of zero", "totalSteps: 10\ncheckpoint: {keep: 0}", /checkpoint\.keep: /],
  ["not YAML", "totalSteps: [1", /not valid YAML or JSON/],
  ["a list instead of a mapping", "- 1", /\(config\)/],
  ["a batch larger than the synthetic dataset (with totalSteps)", "totalSteps: 10\ndataset: synthetic\nsyntheticExamples: 100\nbatchSize: 101", /batchSize: 101 is larger than the synthetic dataset \(100 examples\)/],
  ["a batch larger than mnist, which with epochs would be 0 steps", "epochs: 3\nbatchSize: 10001", /batchSize: 10001 is larger than the mnist dataset \(10000 examples\)/],
  ["a hidden layer beyond the size limit", "totalSteps: 10\nhiddenUnits: 10000000", /hiddenUnits: /],
  ["synthetic examples beyond the size limit", "totalSteps: 10\ndataset: synthetic\nsyntheticExamples: 100000000", /syntheticExamples: /],
  ["a batch beyond the size limit", "totalSteps: 10\nbatchSize: 1000000", /batchSize: /],
  ["epochs that add up to more steps than the limit", "epochs: 1000000\nbatchSize: 1", /epochs: 1000000 epochs are more than/],
  ["an infinite learning rate", '{"totalSteps": 10, "learningRate": 1e400}', /learningRate: /],
  ["a keep beyond the limit", "totalSteps: 10\ncheckpoint: {keep: 100000}", /checkpoint\.keep: /],
  ["an everySteps that is neither a number nor auto", "totalSteps: 10\ncheckpoint: {everySteps: often}", /checkpoint\.everySteps: /],
  ["an overhead budget with a fixed interval", "totalSteps: 10\ncheckpoint: {everySteps: 100, maxOverhead: 0.01}", /checkpoint\.maxOverhead: applies only to everySteps: "auto" \(everySteps is 100\)/],
  ["an overhead budget of more than half the time", "totalSteps: 10\ncheckpoint: {everySteps: auto, maxOverhead: 0.9}", /checkpoint\.maxOverhead: /],
];

test('everySteps: auto parses, with its budget and goal left to the trainer\'s defaults unless given', () => {
  assert.deepEqual(parseConfig("totalSteps: 10\ncheckpoint: {everySteps: auto}", "cfg.yaml").checkpoint, { everySteps: "auto", everySeconds: 300, keep: 3 });
  assert.equal(parseConfig("totalSteps: 10\ncheckpoint: {everySteps: auto, maxLostSteps: 3}", "cfg.yaml").checkpoint.maxLostSteps, 3);
});

for (const [what, text, message] of invalid) {
  test(`rejects ${what}, naming the field and the reason`, () => {
    assert.throws(() => parseConfig(text, "cfg.yaml"), (err: Error) => err instanceof ConfigError && message.test(err.message) && err.message.startsWith("cfg.yaml"));
  });
}

test("the config hash ignores key order", () => {
  assert.equal(configHash(parseConfig("totalSteps: 10\nseed: 1", "a")), configHash(parseConfig('{"seed": 1, "totalSteps": 10}', "b")));
  assert.notEqual(configHash(parseConfig("totalSteps: 10\nseed: 1", "a")), configHash(parseConfig("totalSteps: 10\nseed: 2", "a")));
});

test("resuming refuses a change of shape, naming the field, and reports allowed changes", () => {
  const saved = parseConfig("totalSteps: 10\nhiddenUnits: 64", "saved");
  assert.throws(() => checkResumable(saved, parseConfig("totalSteps: 10\nhiddenUnits: 32", "new"), "ckpt-1"), /config field hiddenUnits changed from 64 to 32/);
  assert.throws(() => checkResumable(saved, parseConfig("totalSteps: 10\nhiddenUnits: 64\noptimizer: sgd", "new"), "ckpt-1"), /optimizer changed/);
  const changed = checkResumable(saved, parseConfig("totalSteps: 20\nhiddenUnits: 64\nlearningRate: 0.01", "new"), "ckpt-1");
  assert.deepEqual(changed, ["learningRate", "totalSteps"]);
});

test("environment: the checkpoint dir is required, numbers are checked, defaults apply", () => {
  assert.throws(() => readEnv({}), /RESUMABLE_CHECKPOINT_DIR is required/);
  assert.throws(() => readEnv({ RESUMABLE_CHECKPOINT_DIR: "/c", RESUMABLE_ATTEMPT: "0" }), /RESUMABLE_ATTEMPT="0"/);
  assert.throws(() => readEnv({ RESUMABLE_CHECKPOINT_DIR: "/c", RESUMABLE_METRICS_PORT: "http" }), /RESUMABLE_METRICS_PORT/);
  const env = readEnv({ RESUMABLE_CHECKPOINT_DIR: "/c" });
  assert.equal(env.terminationLog, "/dev/termination-log");
  assert.equal(env.metrics.port, 9090);
  assert.equal(env.attempt, undefined);
  assert.equal(env.pod, undefined);
  assert.equal(readEnv({ RESUMABLE_CHECKPOINT_DIR: "/c", RESUMABLE_METRICS_PORT: "0" }).metrics.port, 0);
  assert.equal(env.disruptionsPerHour, undefined);
  assert.equal(readEnv({ RESUMABLE_CHECKPOINT_DIR: "/c", RESUMABLE_DISRUPTIONS_PER_HOUR: "0.25" }).disruptionsPerHour, 0.25);
  assert.throws(() => readEnv({ RESUMABLE_CHECKPOINT_DIR: "/c", RESUMABLE_DISRUPTIONS_PER_HOUR: "-1" }), /RESUMABLE_DISRUPTIONS_PER_HOUR="-1": expected a number >= 0/);
});

test("environment: the checkpoint location is the protocol's, its refusals config errors", () => {
  assert.deepEqual(readEnv({ RESUMABLE_CHECKPOINT_DIR: "/c" }).checkpointLocation, { kind: "volume", directory: "/c" });
  assert.deepEqual(readEnv({ RESUMABLE_CHECKPOINT_DIR: "/c", RESUMABLE_CHECKPOINT_URL: "s3://ml-checkpoints/team/a/", RESUMABLE_S3_REGION: "eu-west-1" }).checkpointLocation, {
    kind: "bucket",
    bucket: "ml-checkpoints",
    prefix: "team/a",
    endpoint: undefined,
    region: "eu-west-1",
    credentialsDir: undefined,
  });
  assert.throws(() => readEnv({}), (err: Error) => err instanceof ConfigError && /RESUMABLE_CHECKPOINT_DIR is required/.test(err.message));
  assert.throws(() => readEnv({ RESUMABLE_CHECKPOINT_URL: "s3://ab/p" }), (err: Error) => err instanceof ConfigError && /RESUMABLE_CHECKPOINT_URL="s3:\/\/ab\/p": the bucket "ab"/.test(err.message));
});
