// spec.checkpoint.storage.s3: a run on a bucket gets no PVC, its trainer the protocol's S3
// variables (and the credentials secret as files, or nothing for workload identity), and
// status, `kubectl get tr` and the CLI say where its checkpoints are.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { CustomObjectsApi, V1Pod } from "@kubernetes/client-node";
import { ENV } from "@resumable/protocol";
import type { TrainingRunSpecInput } from "../../operator/src/api/spec.js";
import type { TrainingRun } from "../../operator/src/api/trainingrun.js";
import type { Clients } from "../../operator/src/ctl/client.js";
import { list } from "../../operator/src/ctl/list.js";
import { describe as describeRun } from "../../operator/src/ctl/status.js";
import { readEnv } from "../../trainer/src/config/env.js";
import { podLocation, storageLocation } from "../../operator/src/model/storage-claims.js";
import { checkpointLocation } from "../../operator/src/model/observe.js";
import type { Action } from "../../operator/src/model/types.js";
import { T0, aPod, aPvc, aRun, actionKinds, pass, running, startedStatus } from "./reconcile-fixtures.js";

const BUCKET = { bucket: "ml-checkpoints", prefix: "team-a/mnist/" } as const;
const onBucket = (s3: Record<string, unknown> = {}, more: Partial<TrainingRunSpecInput> = {}): TrainingRun =>
  aRun({ checkpoint: { storage: { s3: { ...BUCKET, ...s3 } } }, ...more });

const createdPod = (actions: Action[]): V1Pod => {
  const create = actions.find((a) => a.kind === "createPod");
  assert.ok(create && create.kind === "createPod", "a createPod action");
  return create.pod;
};
const envOf = (pod: V1Pod): Record<string, string | undefined> =>
  Object.fromEntries((pod.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));

describe("reconcile: checkpoints in a bucket (spec.checkpoint.storage.s3)", () => {
  it("a new run on a bucket creates only its pod: no PVC", () => {
    const d = pass(onBucket(), [], T0, { pvc: null });
    assert.deepEqual(actionKinds(d), ["createPod"]);
    assert.equal(d.status.phase, "Pending");
    assert.equal(d.status.attempt, 1);
  });

  it("a terminating PVC of the run's default claim name does not hold back a run on a bucket", () => {
    const pvc = { ...aPvc(), metadata: { ...aPvc().metadata, deletionTimestamp: T0 } };
    const d = pass(onBucket(), [], T0, { pvc });
    assert.deepEqual(actionKinds(d), ["createPod"]);
  });

  it("the pod mounts no PVC and pins no zone: only the spot terms of spec.scheduling", () => {
    const pod = createdPod(pass(onBucket({}, { scheduling: { spot: true } }), [], T0, { pvc: null }).actions);
    assert.deepEqual(
      pod.spec?.volumes?.map((v) => v.name),
      ["tmp", "checkpoint-request"],
    );
    assert.ok(!pod.spec?.volumes?.some((v) => v.persistentVolumeClaim), "no PVC volume: the scheduler has no disk's zone to follow");
    assert.deepEqual(
      pod.spec?.containers[0]?.volumeMounts?.map((m) => m.mountPath),
      ["/tmp", "/etc/resumable/requests"],
    );
    const keys = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms.flatMap((t) =>
      (t.matchExpressions ?? []).map((e) => e.key),
    );
    assert.ok(keys && keys.length > 0 && !keys.some((k) => k.includes("zone")), `no zone term: ${keys?.join(", ")}`);
    assert.equal(pod.spec?.nodeSelector, undefined);
  });

  it("the trainer gets the bucket URL, endpoint and region from the protocol's variables, and no checkpoint directory", () => {
    const pod = createdPod(pass(onBucket({ endpoint: "http://s3.storage:8333", region: "eu-west-1" }), [], T0, { pvc: null }).actions);
    const env = envOf(pod);
    assert.equal(env[ENV.checkpointUrl], "s3://ml-checkpoints/team-a/mnist");
    assert.equal(env[ENV.s3Endpoint], "http://s3.storage:8333");
    assert.equal(env[ENV.s3Region], "eu-west-1");
    assert.ok(!(ENV.checkpointDir in env), "RESUMABLE_CHECKPOINT_DIR would name a directory that is not mounted");
    assert.ok(!(ENV.s3CredentialsDir in env), "no secret: the SDK's default chain (workload identity)");
    assert.equal(env[ENV.run], "mnist");
  });

  it("without a credentials secret (workload identity) the pod gets no secret volume and no credentials variable", () => {
    const pod = createdPod(pass(onBucket(), [], T0, { pvc: null }).actions);
    assert.equal(envOf(pod)[ENV.checkpointUrl], "s3://ml-checkpoints/team-a/mnist");
    assert.ok(!pod.spec?.volumes?.some((v) => v.secret));
    assert.ok(!(ENV.s3CredentialsDir in envOf(pod)));
    assert.ok(!(ENV.s3Endpoint in envOf(pod)) && !(ENV.s3Region in envOf(pod)), "unset endpoint and region stay unset (AWS S3, AWS_REGION)");
  });

  it("a credentials secret is mounted read-only where RESUMABLE_S3_CREDENTIALS_DIR says, its keys renamed to the trainer's files", () => {
    const pod = createdPod(
      pass(onBucket({ credentialsSecret: { name: "s3-key", accessKeyIdKey: "id", secretAccessKeyKey: "secret" } }), [], T0, { pvc: null }).actions,
    );
    const dir = envOf(pod)[ENV.s3CredentialsDir];
    assert.equal(dir, "/etc/resumable/s3-credentials");
    const volume = pod.spec?.volumes?.find((v) => v.secret);
    assert.deepEqual(volume?.secret, {
      secretName: "s3-key",
      items: [
        { key: "id", path: "AWS_ACCESS_KEY_ID" },
        { key: "secret", path: "AWS_SECRET_ACCESS_KEY" },
      ],
    });
    assert.deepEqual(
      pod.spec?.containers[0]?.volumeMounts?.find((m) => m.name === volume?.name),
      { name: volume?.name, mountPath: dir, readOnly: true },
    );
  });

  it("a credentials secret with the default key names is projected whole, so an AWS_SESSION_TOKEN in it reaches the trainer", () => {
    const pod = createdPod(pass(onBucket({ credentialsSecret: { name: "s3-key" } }), [], T0, { pvc: null }).actions);
    assert.deepEqual(pod.spec?.volumes?.find((v) => v.secret)?.secret, { secretName: "s3-key" });
  });

  it("the trainer reads back the location the operator rendered, and storage-claims the same from the pod", () => {
    const runs = [
      onBucket({ endpoint: "http://s3.storage:8333", region: "eu-west-1", credentialsSecret: { name: "s3-key" } }),
      onBucket(),
      aRun({ checkpoint: { mountPath: "/data/ckpt" } }),
    ];
    for (const run of runs) {
      const pod = createdPod(pass(run, [], T0, { pvc: null }).actions);
      const location = checkpointLocation(run);
      assert.ok(location !== undefined);
      // What the trainer is told: the location without what only the operator mounts (the PVC, the Secret).
      const told =
        location.kind === "bucket"
          ? { kind: "bucket", bucket: location.bucket, prefix: location.prefix, endpoint: location.endpoint, region: location.region, credentialsDir: location.credentialsDir }
          : { kind: "volume", directory: location.directory };
      assert.deepEqual(readEnv(envOf(pod)).checkpointLocation, told);
      assert.deepEqual(podLocation(pod), storageLocation(run), "the pod writes where its run says");
    }
  });

  it("status.checkpointStorage says where checkpoints are: the bucket URL, or pvc/<claim>", () => {
    assert.equal(pass(onBucket(), [], T0, { pvc: null }).status.checkpointStorage, "s3://ml-checkpoints/team-a/mnist");
    assert.equal(pass(aRun(), [], T0, { pvc: null }).status.checkpointStorage, "pvc/mnist-checkpoints");
    assert.equal(pass(aRun({ checkpoint: { claimName: "shared" } }), [], T0, { pvc: aPvc("shared") }).status.checkpointStorage, "pvc/shared");
  });

  it("status.lastCheckpoint carries the object URL the trainer's progress reports", () => {
    const url = "s3://ml-checkpoints/team-a/mnist/ckpt-00000200-a1";
    const progress = { step: 230, totalSteps: 600, checkpoint: { step: 200, time: "2026-11-28T12:00:50.000Z", bytes: 4096, reason: "periodic", path: url } };
    const d = pass(onBucket({}, {}), [running(1, { progress })], T0, { pvc: null });
    assert.deepEqual(d.status.lastCheckpoint, { step: 200, time: "2026-11-28T12:00:50.000Z", bytes: 4096, reason: "periodic", path: url });
  });

  it("status.lastCheckpoint carries the object URL of the final checkpoint in the trainer's summary", () => {
    const url = "s3://ml-checkpoints/team-a/mnist/ckpt-00000600-a1";
    const summary = { reason: "completed", step: 600, totalSteps: 600, resumedFromStep: null, checkpoint: { step: 600, path: url, bytes: 4096, saveSeconds: 0.1 } };
    const run = { ...onBucket(), status: startedStatus(1) };
    const d = pass(run, [aPod(1, { phase: "Succeeded", node: "spot-1", exitCode: 0, summary })], T0, { pvc: null });
    assert.equal(d.status.phase, "Succeeded");
    assert.equal(d.status.lastCheckpoint?.path, url);
    assert.equal(d.status.lastCheckpoint?.reason, "final");
  });
});

describe("resumable CLI: where checkpoints are", () => {
  const withStatus = (run: TrainingRun): TrainingRun => ({
    ...run,
    metadata: { ...run.metadata, creationTimestamp: T0 },
    status: {
      ...startedStatus(1),
      lastCheckpoint: { step: 200, reason: "periodic", time: "2026-11-28T12:00:50.000Z", bytes: 4096, path: "s3://ml-checkpoints/team-a/mnist/ckpt-00000200-a1" },
    },
  });

  it("resumable status shows the storage and the newest checkpoint's object URL", () => {
    const text = describeRun(withStatus(onBucket()));
    assert.match(text, /^Storage: +s3:\/\/ml-checkpoints\/team-a\/mnist$/m);
    assert.match(text, /^Checkpoint: +step 200 \(periodic\) .*, s3:\/\/ml-checkpoints\/team-a\/mnist\/ckpt-00000200-a1$/m);
    assert.match(describeRun(withStatus(aRun())), /^Storage: +pvc\/mnist-checkpoints$/m);
  });

  it("resumable list has a STORAGE column: the bucket URL or pvc/<claim>", async () => {
    const runs = [withStatus(onBucket()), { ...withStatus(aRun()), metadata: { ...withStatus(aRun()).metadata, name: "other" } }];
    const custom = { listNamespacedCustomObject: () => Promise.resolve({ items: runs }) } as unknown as CustomObjectsApi;
    const text = await list({ custom, namespace: "ml" } as Clients, false, T0);
    const [header, ...rows] = text.split("\n");
    const column = header?.indexOf("STORAGE") ?? -1;
    assert.ok(column > 0, header);
    assert.deepEqual(
      rows.map((r) => r.slice(column).split(/\s+/)[0]),
      ["s3://ml-checkpoints/team-a/mnist", "pvc/other-checkpoints"],
    );
  });
});
