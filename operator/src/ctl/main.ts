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

Options (as kubectl's, which a kubectl plugin does not inherit):
  --kubeconfig FILE   instead of KUBECONFIG, ~/.kube/config or the in-cluster service account
  --context NAME      a context of that kubeconfig other than its current one`;

async function main(argv: string[]): Promise<string> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: "string", short: "n" },
      kubeconfig: { type: "string" },
      context: { type: "string" },
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
  const clients = () => connect(values);
  switch (command) {
    case "list":
      return list(clients(), values["all-namespaces"] ?? false, new Date());
    case "status":
      return status(clients(), needsRun("status"));
    case "preempt":
      return preempt(clients(), needsRun("preempt"));
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
