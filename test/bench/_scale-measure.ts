// What the scale benchmark measures, and nothing of how it drives the fleet (_scale.ts):
// the operator's and the apiserver's Prometheus histograms and counters, the operator's RSS,
// heap and CPU from /proc and its metrics, the machine's CPU by process, and the quantiles
// of the driver's own timings.
import { readdirSync, readFileSync } from "node:fs";
import type { E2E } from "../e2e/harness.js";

export interface Quantiles { p50: number; p99: number; max: number; n: number }

export type Writes = Record<"createPod" | "patchRunStatus" | "createEvent", Quantiles>;

/** Cores busy over a window, in all and by process (CPU s per s): who the 2 cores went to. */
export interface MachineCpu { busyCores: number; byProcess: Record<string, number> }

interface CpuSample { at: number; busyTicks: number; byProcess: Map<string, number> }

/**
 * Every process's CPU ticks, by what it is: the control plane's binaries by name, the operator
 * and this driver by pid, any other node process as "other node". Read from /proc.
 */
export function cpuSample(operatorPid: number): CpuSample {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const busyTicks = cpu.reduce((a, b) => a + b, 0) - cpu[3]! - (cpu[4] ?? 0); // all but idle and iowait
  const byProcess = new Map<string, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: { comm: string; ticks: number };
    try { stat = procStat(entry); } catch { continue; } // gone meanwhile
    const { comm, ticks } = stat;
    const pid = Number(entry);
    const who = pid === operatorPid ? "operator" : pid === process.pid ? "driver (this benchmark)" : comm === "node" ? "other node" : comm;
    byProcess.set(who, (byProcess.get(who) ?? 0) + ticks);
  }
  return { at: Date.now(), busyTicks, byProcess };
}

/** CPU s per s between two samples: the seven busiest processes by name, the rest summed. */
export function machineCpu(from: CpuSample, to: CpuSample): MachineCpu {
  const seconds = (to.at - from.at) / 1000;
  const rates = [...to.byProcess].map(([who, t]) => [who, (t - (from.byProcess.get(who) ?? 0)) / 100 / seconds] as const)
    .filter(([, r]) => r > 0).sort((a, b) => b[1] - a[1]);
  const byProcess: Record<string, number> = Object.fromEntries(rates.slice(0, 7));
  const rest = rates.slice(7).reduce((a, [, r]) => a + r, 0);
  if (rest > 0) byProcess["the rest"] = rest;
  return { busyCores: (to.busyTicks - from.busyTicks) / 100 / seconds, byProcess };
}

/** The operator's own view of its writes' round trips (resumable_api_write_duration_seconds). */
export function operatorWrites(metrics: string, since?: string): Writes {
  const h = (write: string) => histogramQuantiles(metrics, "resumable_api_write_duration_seconds", [`write="${write}"`], since);
  return { createPod: h("createPod"), patchRunStatus: h("patchRunStatus"), createEvent: h("createEvent") };
}

export function quantiles(xs: number[]): Quantiles {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
  return { p50: at(0.5), p99: at(0.99), max: s.at(-1) ?? NaN, n: s.length };
}

/**
 * How long the apiserver took to answer the writes an operator pass waits for (every client's,
 * since it started): where a pass's time goes when it is not the operator's own.
 */
export async function apiserverWriteLatency(e: E2E): Promise<{ createPod: Quantiles; patchRunStatus: Quantiles; createEvent: Quantiles }> {
  const text = await e.kubectl(["get", "--raw", "/metrics"]);
  const h = (labels: string[]) => histogramQuantiles(text, "apiserver_request_duration_seconds", labels);
  return {
    createPod: h(['verb="POST"', 'resource="pods"', 'subresource=""']),
    patchRunStatus: h(['verb="PATCH"', 'resource="trainingruns"', 'subresource="status"']),
    createEvent: h(['verb="POST"', 'resource="events"']),
  };
}

/** apiserver counters: requests dispatched for the operator's FlowSchema, TrainingRun status writes. */
export async function apiserverCounters(e: E2E, flowSchema: string): Promise<{ operator: number; statusWrites: number }> {
  const text = await e.kubectl(["get", "--raw", "/metrics"]);
  let operator = 0;
  let statusWrites = 0;
  for (const line of text.split("\n")) {
    if (line.startsWith("apiserver_flowcontrol_dispatched_requests_total{") && line.includes(`flow_schema="${flowSchema}"`)) operator += Number(line.split(" ").at(-1));
    if (line.startsWith("apiserver_request_total{") && line.includes('resource="trainingruns"') && line.includes('subresource="status"') && /verb="(PATCH|UPDATE|APPLY)"/.test(line)) {
      statusWrites += Number(line.split(" ").at(-1));
    }
  }
  return { operator, statusWrites };
}

export function processUsage(pid: number): { rssMb: number; cpuSeconds: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMb: rssKb / 1024, cpuSeconds: procStat(pid).ticks / 100 };
}

/** A process's name and CPU ticks so far (utime + stime), from /proc/<pid>/stat; throws once it is gone. */
function procStat(pid: number | string): { comm: string; ticks: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The name sits in parentheses and may hold spaces: fields are counted after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { comm: stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** The operator's V8 heap in use, from its default metrics: how much of its RSS is live objects. */
export function heapUsedMb(metrics: string): number {
  return gaugeMb(metrics, "resumable_nodejs_heap_size_used_bytes");
}

function gaugeMb(metrics: string, name: string): number {
  return Number(new RegExp(`^${name} (\\S+)`, "m").exec(metrics)?.[1] ?? NaN) / 2 ** 20;
}

/**
 * Where the operator's memory is, in MB: RSS, the V8 heap reserved and in use, and memory
 * outside it (Buffers and ArrayBuffers). RSS growing while all three stay flat is memory the
 * allocator holds, not objects the operator keeps.
 */
export function memoryLine(metrics: string, rssMb: number): string {
  const mb = (name: string) => gaugeMb(metrics, `resumable_nodejs_${name}`).toFixed(0);
  return `RSS ${rssMb.toFixed(0)}, heap total ${mb("heap_size_total_bytes")} used ${mb("heap_size_used_bytes")}, external ${mb("external_memory_bytes")}`;
}

export async function operatorMetrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

/**
 * p50/p99 from a Prometheus histogram's cumulative buckets (upper bound of the bucket reached);
 * with `since`, an earlier scrape of the same histogram, only what was observed after it.
 */
export function histogramQuantiles(text: string, name: string, labels: string[] = [], since?: string): Quantiles {
  const now = cumulativeBuckets(text, name, labels);
  const before = since === undefined ? new Map<number, number>() : cumulativeBuckets(since, name, labels);
  const sorted = [...now.entries()].map(([le, c]) => [le, c - (before.get(le) ?? 0)] as const).sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  const q = (p: number) => sorted.find(([, c]) => c >= p * total)?.[0] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), max: q(1), n: total };
}

/** Count per upper bound, summed across label sets (e.g. result="ok"/"error"). */
function cumulativeBuckets(text: string, name: string, labels: string[]): Map<number, number> {
  const byLe = new Map<number, number>();
  for (const l of text.split("\n")) {
    if (!l.startsWith(`${name}_bucket{`) || !labels.every((x) => l.includes(x))) continue;
    const le = /le="([^"]+)"/.exec(l)![1]!;
    const bound = le === "+Inf" ? Infinity : Number(le);
    byLe.set(bound, (byLe.get(bound) ?? 0) + Number(l.split(" ").at(-1)));
  }
  return byLe;
}
