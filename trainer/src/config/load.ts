import { readFile } from "node:fs/promises";
import { configProblems } from "@resumable/protocol/reference-trainer";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "../config-error.js";
import { trainingConfigSchema, type TrainingConfig } from "./schema.js";

/** Parses YAML or JSON (YAML is a superset) and validates it; every problem names its field. */
export function parseConfig(text: string, source: string): TrainingConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${source}: not valid YAML or JSON: ${(err as Error).message}`);
  }
  const result = trainingConfigSchema.safeParse(raw ?? {});
  if (!result.success) {
    // Worded as the operator words them when it checks spec.training before any pod exists.
    throw new ConfigError(`${source}: invalid config:\n${configProblems(result.error.issues).map((p) => `  ${p}`).join("\n")}`);
  }
  return result.data;
}

/** The config comes from `--config FILE` or, as the operator passes it, RESUMABLE_CONFIG. */
export async function loadConfig(file: string | undefined, inline: string | undefined): Promise<TrainingConfig> {
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (err) {
      throw new ConfigError(`cannot read config ${file}: ${(err as Error).message}`);
    }
    return parseConfig(text, file);
  }
  if (inline !== undefined && inline.trim() !== "") return parseConfig(inline, "RESUMABLE_CONFIG");
  throw new ConfigError("no config: pass --config FILE or set RESUMABLE_CONFIG");
}
