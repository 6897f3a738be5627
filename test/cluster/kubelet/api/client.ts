// A small JSON client for the apiserver over node:https, with credentials
// from a kubeconfig. The kubelet needs exact control over what it sends
// (patch content types, preconditions, nulls that clear fields) and plain
// JSON back, so it speaks REST directly instead of through generated models.
// @resumable/kube-runtime has no REST client of its own to use instead: it
// wraps client-node, and what it does have (the reflector, backoff, clock)
// the kubelet uses, with this client's watch in the runtime's WatchClient shape.
import { Agent, request, type RequestOptions } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";
import type { Status, WatchEvent } from "./types.js";

export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export const isNotFound = (err: unknown) => err instanceof ApiError && err.code === 404;
export const isAlreadyExists = (err: unknown) => err instanceof ApiError && err.reason === "AlreadyExists";

export type PatchType = "merge" | "strategic";
const patchContentType: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
};

type Query = Record<string, string | number | boolean | undefined>;

const REQUEST_TIMEOUT_MS = 30_000;

export class ApiClient {
  private constructor(
    readonly server: URL,
    private readonly base: RequestOptions,
  ) {}

  static async fromKubeconfig(file: string): Promise<ApiClient> {
    const kc = new KubeConfig();
    kc.loadFromFile(file);
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error(`${file}: no current cluster`);
    const base: RequestOptions = {};
    await kc.applyToHTTPSOptions(base);
    base.agent = new Agent({ keepAlive: true, ca: base.ca, cert: base.cert, key: base.key });
    return new ApiClient(new URL(cluster.server), base);
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.call<T>("GET", path, query);
  }

  create<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("POST", path, undefined, body);
  }

  replace<T>(path: string, body: unknown): Promise<T> {
    return this.call<T>("PUT", path, undefined, body);
  }

  patch<T>(path: string, body: unknown, type: PatchType = "merge"): Promise<T> {
    return this.call<T>("PATCH", path, undefined, body, patchContentType[type]);
  }

  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.call<T>("DELETE", path, undefined, body);
  }

  /**
   * Streams a watch in the shape of the runtime's WatchClient (client-node's Watch.watch):
   * `onEvent` gets each event's type and object, `onDone` is called once when the stream
   * ends (with the error if it failed). Silence is the watcher's watchdog's to judge.
   */
  watch(
    path: string,
    query: Query,
    onEvent: (type: string, object: unknown) => void,
    onDone: (err?: unknown) => void,
  ): Promise<AbortController> {
    const abort = new AbortController();
    let ended = false;
    const done = (err?: unknown) => {
      if (ended) return;
      ended = true;
      onDone(err);
    };
    return new Promise((resolve) => {
      const req = request(this.url(path, { ...query, watch: true }), { ...this.base, method: "GET", signal: abort.signal }, (res) => {
        if (res.statusCode !== 200) {
          collect(res).then((text) => done(toApiError(res.statusCode ?? 0, text)), done);
          return;
        }
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffer += chunk;
          let nl: number;
          try {
            while ((nl = buffer.indexOf("\n")) >= 0) {
              const line = buffer.slice(0, nl).trim();
              buffer = buffer.slice(nl + 1);
              if (!line) continue;
              const event = JSON.parse(line) as WatchEvent<unknown>;
              onEvent(event.type, event.object);
            }
          } catch (err) {
            // Not a JSON line: the stream is broken, end it.
            abort.abort();
            done(err);
          }
        });
        res.on("end", () => done());
        res.on("error", done);
      });
      req.on("error", done);
      req.end();
      resolve(abort);
    });
  }

  private url(path: string, query?: Query): URL {
    const url = new URL(path, this.server);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }

  private call<T>(method: string, path: string, query?: Query, body?: unknown, contentType = "application/json"): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers: Record<string, string> = { ...(this.base.headers as Record<string, string>), accept: "application/json" };
    if (payload !== undefined) {
      headers["content-type"] = contentType;
      // Without a length Node sends a DELETE body chunked, and the apiserver ignores it (DeleteOptions lost).
      headers["content-length"] = String(Buffer.byteLength(payload));
    }
    return new Promise<T>((resolve, reject) => {
      const req = request(
        this.url(path, query),
        { ...this.base, method, headers, timeout: REQUEST_TIMEOUT_MS },
        (res) => {
          collect(res).then((text) => {
            const code = res.statusCode ?? 0;
            if (code >= 200 && code < 300) resolve((text ? JSON.parse(text) : {}) as T);
            else reject(toApiError(code, text));
          }, reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on("error", reject);
      req.end(payload);
    });
  }
}

function collect(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    stream.setEncoding("utf8");
    stream.on("data", (chunk: string) => (text += chunk));
    stream.on("end", () => resolve(text));
    stream.on("error", reject);
  });
}

function toApiError(code: number, text: string): ApiError {
  let status: Status = {};
  try {
    status = JSON.parse(text) as Status;
  } catch {
    // not a Status object: keep the raw text as the message
  }
  return new ApiError(code, status.reason ?? "", status.message ?? (text || `HTTP ${code}`));
}
