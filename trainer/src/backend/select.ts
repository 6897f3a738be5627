import * as tf from "@tensorflow/tfjs";
import type { TrainingConfig } from "../config/schema.js";
import type { Logger } from "../log.js";

/**
 * The native TensorFlow bindings, best first. Never dependencies of the default install (their
 * install downloads libtensorflow); the GPU image installs tfjs-node-gpu. Imported by a
 * computed name so the type checker and bundlers do not go looking for them.
 */
const nativePackages = ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"];

/**
 * Sets the tfjs backend. `auto` picks the fastest available: native TensorFlow (GPU, then
 * CPU), then wasm for dense models (it lacks Conv2D backprop kernels), then the pure-JS cpu
 * backend. An explicit `tensorflow` that is not installed falls back the same way, logged.
 * Returns the backend's name as tfjs reports it.
 */
export async function selectBackend(config: TrainingConfig, log: Logger): Promise<string> {
  const wanted = config.backend;
  if (wanted === "auto" || wanted === "tensorflow") {
    for (const pkg of nativePackages) {
      if (await tryNative(pkg, log)) return tf.getBackend();
    }
    if (wanted === "tensorflow") log.warn("backend tensorflow requested but neither tfjs-node-gpu nor tfjs-node is installed: falling back");
  }
  const fallback = wanted === "cpu" || (wanted !== "wasm" && config.model === "cnn") ? "cpu" : "wasm";
  if (fallback === "wasm") {
    await import("@tensorflow/tfjs-backend-wasm");
    if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend failed to initialise");
  } else if (!(await tf.setBackend("cpu"))) {
    throw new Error("the cpu backend failed to initialise");
  }
  log.info({ backend: tf.getBackend(), requested: wanted }, "backend selected");
  return tf.getBackend();
}

async function tryNative(pkg: string, log: Logger): Promise<boolean> {
  const name: string = pkg;
  try {
    await import(name);
  } catch (err) {
    log.info({ package: pkg, reason: (err as Error).message.split("\n")[0] }, "native backend not available");
    return false;
  }
  const ok = await tf.setBackend("tensorflow");
  log.info({ package: pkg, backend: tf.getBackend(), ok }, "native TensorFlow backend");
  return ok;
}
