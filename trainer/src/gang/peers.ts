import { readFile } from "node:fs/promises";
import { parsePeers, type Peers } from "@resumable/protocol";
import { ConfigError } from "../config-error.js";
import { PeerLostError } from "./collective.js";

/**
 * A read of the projected file costs microseconds; a quarter second is short next to pods
 * starting and does not matter to a node's CPU.
 */
const pollMs = 250;

/** What a file held, for a message: its first bytes, or why there was nothing to read. */
async function contents(file: string): Promise<string> {
  try {
    const text = await readFile(file, "utf8");
    return text.trim() === "" ? "nothing (empty)" : JSON.stringify(text.length > 300 ? `${text.slice(0, 300)}...` : text);
  } catch (err) {
    return `nothing readable (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
}

/**
 * The gang's addresses once the operator has published them for this attempt: the operator
 * writes them when every rank's pod has an IP, and the kubelet projects them into the file
 * (atomically: a read never sees half a list). A list that can never be right is a ConfigError
 * at once; none by `deadline` (performance.now()) is PeerLostError naming the file and what it held.
 */
export async function waitForPeers(file: string, expected: { attempt: number; worldSize: number }, deadline: number): Promise<Peers> {
  for (;;) {
    const text = await readFile(file, "utf8").catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return "";
      throw new ConfigError(`cannot read the gang's peers file ${file}: ${err.message}`);
    });
    const parsed = parsePeers(text, expected);
    if (parsed.kind === "peers") return parsed.peers;
    if (parsed.kind === "invalid") throw new ConfigError(`the gang's peers file ${file} is invalid: ${parsed.reason}`);
    const left = deadline - performance.now();
    if (left <= 0) {
      throw new PeerLostError(
        undefined,
        `the gang did not form: ${file} held no addresses for attempt ${expected.attempt} of ${expected.worldSize} ranks within the formation bound; it held ${await contents(file)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(pollMs, left)));
  }
}
