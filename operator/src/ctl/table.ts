// Plain aligned columns, like kubectl's default output.
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("   ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n");
}

/** 90 → "1m30s", like kubectl's ages. */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return "-";
  const s = Math.max(0, seconds);
  if (s < 10) return `${s.toFixed(1)}s`;
  if (s < 120) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m${Math.round(s % 60)}s`;
  const h = Math.floor(m / 60);
  return h < 48 ? `${h}h${m % 60}m` : `${Math.floor(h / 24)}d${h % 24}h`;
}

export function secondsBetween(from: string | undefined, to: string | undefined | Date): number | undefined {
  if (!from || !to) return undefined;
  return (new Date(to).getTime() - new Date(from).getTime()) / 1000;
}
