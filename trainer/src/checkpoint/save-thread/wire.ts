import { ConfigError } from "../../config-error.js";
import { SafetensorsError } from "../../safetensors/format.js";
import { FenceConflictError } from "../backend.js";
import { CheckpointFileMissingError, CheckpointsUnusableError, CorruptCheckpointError, FencedError, StorageError, StorageRefusedError } from "../errors.js";
import { GangDisagreementError } from "../gang.js";
import { LocationOwnedError } from "../owner.js";

/**
 * An error as it crosses from the save thread to the training thread. Structured cloning keeps
 * an Error's message but not its class or fields, and the trainer's exit code and the writer's
 * "fatal or not" are decided by class (main.ts, run.ts): so the class is sent by name and
 * rebuilt, with the fields a StorageError or StorageRefusedError carries.
 */
export interface WireError {
  name: string;
  message: string;
  stack: string | undefined;
  path?: string;
  code?: string | undefined;
}

/** The classes a save can throw whose constructor takes the message alone. */
const byMessage = [ConfigError, LocationOwnedError, FencedError, CorruptCheckpointError, CheckpointFileMissingError, CheckpointsUnusableError, GangDisagreementError, FenceConflictError, SafetensorsError];

export function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { name: "Error", message: String(err), stack: undefined };
  const wire: WireError = { name: err.name, message: err.message, stack: err.stack };
  if (err instanceof StorageError || err instanceof StorageRefusedError) return { ...wire, path: err.path, code: err.code };
  return wire;
}

/** The error of the same class again; an unknown class comes back as an Error of that name. */
export function fromWire(wire: WireError): Error {
  let err: Error;
  if (wire.name === "StorageError") err = new StorageError(wire.path ?? "", wire.code, wire.message);
  else if (wire.name === "StorageRefusedError") err = new StorageRefusedError(wire.path ?? "", wire.code, wire.message);
  else {
    const known = byMessage.find((c) => c.name === wire.name);
    err = known ? new known(wire.message) : Object.assign(new Error(wire.message), { name: wire.name });
  }
  // Where it was thrown, on the save thread: what a log line of it should point at.
  if (wire.stack !== undefined) err.stack = wire.stack;
  return err;
}
