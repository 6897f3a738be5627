/** Raised for anything the user must fix in the config or environment: exit code 2, nothing written. */
export class ConfigError extends Error {
  override readonly name: string = "ConfigError";
}
