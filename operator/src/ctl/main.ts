#!/usr/bin/env node
// `resumable` (also `kubectl resumable`): list runs, show one run's attempt
// timeline, or preempt a run to rehearse recovery.
import { parseArgs } from "node:util";
import { CliError, connect } from "./client.js";
import { list } from "./list.js";
import { preempt } from "./preempt.js";
import { status } from "./status.js";

const usage = `Usage:
  resumable list [-n NAMESPACE | -A]
  resumable status RUN [-n NAMESPACE]
  resumable preempt RUN [-n NAMESPACE]

Uses KUBECONFIG (or ~/.kube/config, or the in-cluster service account).`;

async function main(argv: string[]): Promise<string> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: "string", short: "n" },
      "all-namespaces": { type: "boolean", short: "A" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, run, ...extra] = positionals;
  if (values.help || !command) return usage;
  if (extra.length > 0) throw new CliError(`unexpected arguments: ${extra.join(" ")}\n${usage}`);
  const needsRun = (cmd: string) => {
    if (!run) throw new CliError(`${cmd} needs a run name\n${usage}`);
    return run;
  };
  switch (command) {
    case "list":
      return list(connect(values.namespace), values["all-namespaces"] ?? false, new Date());
    case "status":
      return status(connect(values.namespace), needsRun("status"));
    case "preempt":
      return preempt(connect(values.namespace), needsRun("preempt"));
    default:
      throw new CliError(`unknown command ${JSON.stringify(command)}\n${usage}`);
  }
}

main(process.argv.slice(2)).then(
  (out) => console.log(out),
  (err: unknown) => {
    const known = err instanceof CliError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
    console.error(`resumable: ${known ? (err as Error).message : String((err as Error).stack ?? err)}`);
    process.exit(known ? 1 : 70);
  },
);
