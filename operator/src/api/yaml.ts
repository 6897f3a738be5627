/**
 * Block-style YAML for plain JSON data (the generated CRD). client-node's dumpYaml runs
 * objects through its model serializer, which drops JSON Schema keys such as `default`.
 */
export function toYaml(value: unknown): string {
  return `${lines(value, "").join("\n")}\n`;
}

function lines(value: unknown, indent: string): string[] {
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${indent}[]`];
    return value.flatMap((item) => {
      const [first = "", ...rest] = lines(item, `${indent}  `);
      return [`${indent}- ${first.slice(indent.length + 2)}`, ...rest];
    });
  }
  if (isObject(value)) {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined);
    if (entries.length === 0) return [`${indent}{}`];
    return entries.flatMap(([key, v]) =>
      isCollection(v) ? [`${indent}${scalar(key)}:`, ...lines(v, `${indent}  `)] : [`${indent}${scalar(key)}: ${scalar(v)}`],
    );
  }
  return [`${indent}${scalar(value)}`];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Non-empty arrays and objects go on their own lines; everything else inline. */
function isCollection(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : isObject(value) && Object.keys(value).length > 0;
}

/** Plain when YAML reads it back as the same string, else JSON's double quotes (valid YAML). */
function scalar(value: unknown): string {
  if (Array.isArray(value)) return "[]";
  if (isObject(value)) return "{}";
  if (typeof value !== "string") return JSON.stringify(value);
  const plain = /^[A-Za-z_/][A-Za-z0-9_./-]*$/.test(value) && !/^(true|false|yes|no|on|off|null|y|n)$/i.test(value);
  return plain ? value : JSON.stringify(value);
}
