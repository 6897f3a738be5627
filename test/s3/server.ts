// A real S3 server process for tests, on 127.0.0.1 with a free port and its own data
// directory. By default our small server over gofakes3 (builds in seconds, checks SigV4);
// RESUMABLE_S3_SERVER=seaweedfs runs SeaweedFS's `weed server` (master, volume server, filer
// and S3 gateway in one process) instead: its flags below were read from its source at the
// pinned commit, but it has not run here yet (its cold build did not finish in 42 min on the
// shared 2 cores). Built once per version by build.sh into the cache.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { builtDir } from "../cluster/binaries.js";
import { freePort, isAlive, startDetached, stopProcess } from "../cluster/processes.js";

export type S3ServerKind = "gofakes3" | "seaweedfs";

export function serverKind(): S3ServerKind {
  const kind = process.env.RESUMABLE_S3_SERVER ?? "gofakes3";
  if (kind !== "gofakes3" && kind !== "seaweedfs") throw new Error(`RESUMABLE_S3_SERVER=${kind}: expected gofakes3 or seaweedfs`);
  return kind;
}

const binaryName: Record<S3ServerKind, string> = { gofakes3: "s3-server", seaweedfs: "weed" };

/** Builds the server if the cache lacks it (progress on stderr) and returns its path. */
export function ensureS3Server(kind: S3ServerKind = serverKind()): string {
  const dir = builtDir("test/s3/build.sh", kind);
  const binary = join(dir, binaryName[kind]);
  if (!existsSync(binary)) throw new Error(`build.sh did not produce ${binaryName[kind]} in ${dir}`);
  return binary;
}

export interface S3ServerOptions {
  /** Reuse a data directory (a restart); by default a fresh one under the OS temp dir. */
  dataDir?: string;
  /** Reuse the S3 port (a restart keeps the endpoint clients were given). */
  s3Port?: number;
  /** Reuse the credentials (a restart); by default fresh random ones. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Created (if missing) once the server answers. */
  bucket?: string;
  readyTimeoutMs?: number;
}

export interface S3Server {
  endpoint: string;
  region: string;
  s3Port: number;
  credentials: { accessKeyId: string; secretAccessKey: string };
  bucket: string;
  dataDir: string;
  pid: number;
  log: string;
  /** Stops the process (and its group); removes the data directory unless `keepData`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

export const region = "us-east-1";

/** Where an object store on this server lives: its bucket under `prefix`, reached as a trainer would. */
export function storeLocation(server: S3Server, prefix: string) {
  return { bucket: server.bucket, prefix, endpoint: server.endpoint, region: server.region, credentials: server.credentials };
}

async function lastLines(file: string, n: number): Promise<string> {
  try {
    return (await readFile(file, "utf8")).split("\n").slice(-n).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Starts the server and returns once `bucket` exists on it (created on a fresh one). */
export async function startS3Server(options: S3ServerOptions = {}): Promise<S3Server> {
  const kind = serverKind();
  const binary = ensureS3Server(kind);
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "resumable-s3-")));
  await mkdir(join(dataDir, "data"), { recursive: true });
  const credentials = options.credentials ?? {
    accessKeyId: `test${randomBytes(6).toString("hex")}`,
    secretAccessKey: randomBytes(20).toString("hex"),
  };
  const bucket = options.bucket ?? "checkpoints";
  const s3Port = options.s3Port ?? (await freePort());
  const args = kind === "gofakes3" ? [`-addr=127.0.0.1:${s3Port}`, `-db=${join(dataDir, "data", "s3.bolt")}`] : await seaweedArgs(dataDir, s3Port);
  const log = join(dataDir, `${kind}.log`);
  // Both servers accept exactly the credentials in their environment (SeaweedFS makes them
  // its one admin identity) and refuse others as a real bucket does.
  const env = {
    PATH: process.env.PATH,
    HOME: dataDir,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  };
  const started = startDetached(kind, binary, args, log, env);
  const endpoint = `http://127.0.0.1:${s3Port}`;
  const stop = async ({ keepData = false } = {}) => {
    await stopProcess(started.pid);
    if (!keepData) await rm(dataDir, { recursive: true, force: true });
  };

  const client = new S3Client({ endpoint, region, forcePathStyle: true, credentials, maxAttempts: 1 });
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  let lastError: unknown;
  try {
    for (;;) {
      if (!isAlive(started.pid)) throw new Error(`${kind} exited during start-up; log ${log}:\n${await lastLines(log, 30)}`);
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
        break;
      } catch (err) {
        const name = (err as Error).name;
        if (name === "BucketAlreadyOwnedByYou" || name === "BucketAlreadyExists") break;
        lastError = err;
      }
      if (Date.now() > deadline) {
        throw new Error(`${kind} did not create bucket ${bucket} in time (last error: ${String(lastError)}); log ${log}:\n${await lastLines(log, 30)}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stop({ keepData: options.dataDir !== undefined });
    throw err;
  } finally {
    client.destroy();
  }
  return { endpoint, region, s3Port, credentials, bucket, dataDir, pid: started.pid, log, stop };
}

/** SeaweedFS's flags for one loopback server whose data all lives in `dataDir`. */
async function seaweedArgs(dataDir: string, s3Port: number): Promise<string[]> {
  const port = async () => String(await freePort());
  // Every port explicit: SeaweedFS otherwise derives gRPC ports as http+10000 and binds
  // fixed defaults (9333, 8080, 8888, Iceberg 8181, Lance 9101) that parallel tests share.
  return [
    "server",
    "-ip=127.0.0.1",
    "-ip.bind=127.0.0.1",
    `-dir=${join(dataDir, "data")}`,
    `-master.port=${await port()}`,
    `-master.port.grpc=${await port()}`,
    "-master.telemetry=false", // no phoning home from tests
    "-master.volumeSizeLimitMB=128",
    "-volume.max=0",
    `-volume.port=${await port()}`,
    `-volume.port.grpc=${await port()}`,
    "-volume.preStopSeconds=0",
    "-filer",
    `-filer.port=${await port()}`,
    `-filer.port.grpc=${await port()}`,
    `-filer.localSocket=${join(dataDir, "filer.sock")}`,
    "-s3",
    `-s3.port=${s3Port}`,
    `-s3.port.grpc=${await port()}`,
    "-s3.port.iceberg=0",
    "-s3.port.lance=0",
    `-s3.localSocket=${join(dataDir, "s3.sock")}`,
    "-s3.autoCreateBucket=false", // as on AWS: a put to a mistyped bucket fails, it does not create one
  ];
}
