import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { z } from "zod";
import { parseAllowedImage } from "../api/image.js";
import { parseNoticeSignals, type NoticeSignal } from "../model/notice.js";
import { priceTableSchema } from "../model/accounting.js";
import { DEFAULT_SETTINGS, type OperatorSettings } from "../model/settings.js";

/**
 * The flags, each with the environment variable that stands in for it. A flag wins over
 * its variable, the variable over the default.
 */
const FLAGS = {
  namespaces: { env: "RESUMABLE_NAMESPACES", help: "comma-separated namespaces to watch; empty: all" },
  "metrics-address": { env: "RESUMABLE_METRICS_ADDRESS", help: "address for /metrics, /healthz, /readyz (default 0.0.0.0)" },
  "metrics-port": { env: "RESUMABLE_METRICS_PORT", help: "port for /metrics, /healthz, /readyz (default 8080)" },
  "log-level": { env: "RESUMABLE_LOG_LEVEL", help: "trace, debug, info, warn, error or fatal (default info)" },
  "leader-elect": { env: "RESUMABLE_LEADER_ELECT", help: "true or false: hold a Lease so only one replica works (default true)" },
  "leader-election-name": { env: "RESUMABLE_LEADER_ELECTION_NAME", help: "the Lease's name (default resumable-operator)" },
  "leader-election-namespace": {
    env: "RESUMABLE_LEADER_ELECTION_NAMESPACE",
    help: "the Lease's namespace (default: the operator's own namespace in a cluster, else default)",
  },
  identity: { env: "POD_NAME", help: "this replica's name in the Lease and events (default hostname_pid)" },
  "trainer-service-account": { env: "RESUMABLE_TRAINER_SERVICE_ACCOUNT", help: "ServiceAccount of trainer pods (default: the namespace's default)" },
  workers: { env: "RESUMABLE_WORKERS", help: "runs reconciled in parallel (default 4)" },
  "stuck-pod-timeout-seconds": {
    env: "RESUMABLE_STUCK_POD_TIMEOUT_SECONDS",
    help: `how long a pod may sit on a NotReady or deleted node before it is given up (default ${DEFAULT_SETTINGS.stuckPodTimeoutSeconds})`,
  },
  "attempt-history-limit": {
    env: "RESUMABLE_ATTEMPT_HISTORY_LIMIT",
    help: `attempts kept in status.attempts (default ${DEFAULT_SETTINGS.attemptHistoryLimit})`,
  },
  "progress-report-timeout-seconds": {
    env: "RESUMABLE_PROGRESS_REPORT_TIMEOUT_SECONDS",
    help: `how long a trainer may run without a progress report before ProgressReported=False (default ${DEFAULT_SETTINGS.progressReportTimeoutSeconds})`,
  },
  "progress-write-interval-seconds": {
    env: "RESUMABLE_PROGRESS_WRITE_INTERVAL_SECONDS",
    help: `while only a run's progress changes, write its status at most once per this many seconds; 0: on every report (default ${DEFAULT_SETTINGS.progressWriteIntervalSeconds})`,
  },
  "return-to-spot-pending-seconds": {
    env: "RESUMABLE_RETURN_TO_SPOT_PENDING_SECONDS",
    help: `how long a pod that returned to spot may wait for a spot node before the run goes back to on-demand, when the run's fallback.afterPendingSeconds is unset (default ${DEFAULT_SETTINGS.returnToSpotPendingSeconds})`,
  },
  "spot-disruptions-per-hour": {
    env: "RESUMABLE_SPOT_DISRUPTIONS_PER_HOUR",
    help: `hard losses per spot hour assumed for a run without spot hours of its own, told to trainers with checkpoint.everySteps: auto; the run's own rate takes over as it accrues (default ${DEFAULT_SETTINGS.spotDisruptionsPerHour})`,
  },
  "allowed-images": {
    env: "RESUMABLE_ALLOWED_IMAGES",
    help: "comma-separated registries, repository prefixes (whole path segments) or images pinned by tag or digest that spec.image must fall under, e.g. registry.example.com/ml (default: any image)",
  },
  "allow-relaxed-security-context": {
    env: "RESUMABLE_ALLOW_RELAXED_SECURITY_CONTEXT",
    help: "true or false: let spec.securityContext go below the restricted Pod Security Standard (uid 0, capabilities, privilege escalation, Unconfined seccomp) (default false)",
  },
  "notice-signals": {
    env: "RESUMABLE_NOTICE_SIGNALS",
    help: "what is a reclaim notice on a node: comma-separated source=taint:KEY, source=condition:TYPE=STATUS, source=cordon; `default` = the built-in list (default: default)",
  },
  kueue: {
    env: "RESUMABLE_KUEUE",
    help: "true or false: watch Kueue's Workloads (read-only) so a queued run names Kueue's reason for waiting and for a preemption; a cluster without Kueue's CRDs is fine (default false)",
  },
  prices: {
    env: "RESUMABLE_PRICES",
    help: 'JSON price table per hour for cost accounting: {"currency":"USD","instanceTypes":{"<type>":{"spot":0.35,"onDemand":1.2}},"perGpu":{"spot":0.3,"onDemand":1}} (default: none, no cost fields)',
  },
} as const;

type Flag = keyof typeof FLAGS;

const IN_CLUSTER_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

function ownNamespace(): string {
  try {
    return readFileSync(IN_CLUSTER_NAMESPACE_FILE, "utf8").trim() || "default";
  } catch {
    return "default";
  }
}

const boolean = z.enum(["true", "false"]).transform((v) => v === "true");
const count = (min: number) => z.coerce.number().int().min(min);

const commaList = z
  .string()
  .default("")
  .transform((s) => [...new Set(s.split(",").map((n) => n.trim()).filter(Boolean))]);

const configSchema = z.object({
  namespaces: commaList,
  "metrics-address": z.string().min(1).default("0.0.0.0"),
  "metrics-port": z.coerce.number().int().min(0).max(65535).default(8080),
  "log-level": z.enum(["trace", "debug", "info", "warn", "error", "fatal"]).default("info"),
  "leader-elect": boolean.default(true),
  "leader-election-name": z.string().min(1).default("resumable-operator"),
  "leader-election-namespace": z.string().min(1).optional(),
  identity: z.string().min(1).optional(),
  "trainer-service-account": z.string().min(1).optional(),
  workers: count(1).default(4),
  "stuck-pod-timeout-seconds": count(0).default(DEFAULT_SETTINGS.stuckPodTimeoutSeconds),
  "attempt-history-limit": count(1).default(DEFAULT_SETTINGS.attemptHistoryLimit),
  "progress-report-timeout-seconds": count(1).default(DEFAULT_SETTINGS.progressReportTimeoutSeconds),
  "progress-write-interval-seconds": count(0).default(DEFAULT_SETTINGS.progressWriteIntervalSeconds),
  "return-to-spot-pending-seconds": count(1).default(DEFAULT_SETTINGS.returnToSpotPendingSeconds),
  "spot-disruptions-per-hour": z.coerce.number().min(0).max(3600).default(DEFAULT_SETTINGS.spotDisruptionsPerHour),
  "allowed-images": commaList.superRefine((entries, ctx) => {
    for (const entry of entries) {
      if (parseAllowedImage(entry) === undefined) {
        ctx.addIssue({ code: "custom", message: `${JSON.stringify(entry)} is not a registry (host[:port]), a repository (host/path) or an image pinned by tag or digest` });
      }
    }
  }),
  "allow-relaxed-security-context": boolean.default(false),
  "notice-signals": z.string().default("default"),
  kueue: boolean.default(false),
  prices: z
    .string()
    .default("{}")
    .transform((text, ctx) => {
      try {
        return JSON.parse(text) as unknown;
      } catch (err) {
        ctx.addIssue({ code: "custom", message: `not JSON: ${(err as Error).message}` });
        return z.NEVER;
      }
    })
    .pipe(priceTableSchema),
});

export interface OperatorConfig {
  namespaces: string[];
  metrics: { host: string; port: number };
  logLevel: string;
  leaderElection: { enabled: boolean; name: string; namespace: string };
  identity: string;
  workers: number;
  /** Watch Kueue's Workloads (controller/workload-cache.ts). */
  kueue: boolean;
  settings: OperatorSettings;
}

export const USAGE = [
  "usage: resumable-operator [--flag=value ...]",
  "",
  ...Object.entries(FLAGS).map(([flag, { env, help }]) => `  --${flag} (${env})\n      ${help}`),
  "  --help\n      this text",
].join("\n");

export class ConfigError extends Error {}

/**
 * Reads flags (argv without node and script) and the environment into the operator's config.
 * An empty value counts as unset, so a chart can pass `--flag=` for "use the default".
 */
export function loadConfig(argv: readonly string[], env: NodeJS.ProcessEnv): OperatorConfig | "help" {
  const options = Object.fromEntries(Object.keys(FLAGS).map((flag) => [flag, { type: "string" as const }]));
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: [...argv], options: { ...options, help: { type: "boolean" } }, strict: true }).values;
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  if (values.help) return "help";
  const raw = Object.fromEntries(
    (Object.keys(FLAGS) as Flag[]).map((flag) => [flag, values[flag] || env[FLAGS[flag].env] || undefined]),
  );
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      const [flag, ...inside] = i.path.map(String);
      return `--${flag}${inside.length > 0 ? ` ${inside.join(".")}` : ""}: ${i.message}`;
    });
    throw new ConfigError(issues.join("; "));
  }
  const c = parsed.data;
  let noticeSignals: NoticeSignal[];
  try {
    noticeSignals = parseNoticeSignals(c["notice-signals"]);
  } catch (err) {
    throw new ConfigError(`--notice-signals: ${(err as Error).message}`);
  }
  return {
    namespaces: c.namespaces,
    metrics: { host: c["metrics-address"], port: c["metrics-port"] },
    logLevel: c["log-level"],
    leaderElection: {
      enabled: c["leader-elect"],
      name: c["leader-election-name"],
      namespace: c["leader-election-namespace"] ?? ownNamespace(),
    },
    identity: c.identity ?? `${hostname()}_${process.pid}`,
    workers: c.workers,
    kueue: c.kueue,
    settings: {
      ...(c["trainer-service-account"] ? { trainerServiceAccountName: c["trainer-service-account"] } : {}),
      stuckPodTimeoutSeconds: c["stuck-pod-timeout-seconds"],
      attemptHistoryLimit: c["attempt-history-limit"],
      progressReportTimeoutSeconds: c["progress-report-timeout-seconds"],
      progressWriteIntervalSeconds: c["progress-write-interval-seconds"],
      allowedImages: c["allowed-images"],
      allowRelaxedSecurityContext: c["allow-relaxed-security-context"],
      prices: c.prices,
      noticeSignals,
      returnToSpotPendingSeconds: c["return-to-spot-pending-seconds"],
      spotDisruptionsPerHour: c["spot-disruptions-per-hour"],
    },
  };
}
