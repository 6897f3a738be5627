// The goodput sweep as a picture (test/bench/goodput.ts draws it): goodput against the mean
// interval between preemptions, one line per system and checkpoint interval. Drawn as SVG by
// hand (a line chart is a few dozen elements) and rasterised to PNG with resvg, a maintained
// SVG renderer shipped as a prebuilt binary through npm, so no system library or browser is
// needed to draw it.
import { Resvg } from "@resvg/resvg-js";

export interface PlotPoint {
  /** Mean seconds between preemptions. */
  T: number;
  goodput: number;
  /** Whether the system finished its run within the benchmark's limit. */
  completed: boolean;
}

export interface PlotLine { label: string; points: PlotPoint[] }

const WIDTH = 900;
const HEIGHT = 560;
const MARGIN = { left: 80, right: 250, top: 72, bottom: 70 };
const COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"];

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** SVG text of the chart. X: mean seconds between preemptions (log scale), Y: goodput 0–1. */
export function goodputSvg(lines: PlotLine[], title: string, subtitle: string): string {
  const Ts = lines.flatMap((l) => l.points.map((p) => p.T));
  if (Ts.length === 0) throw new Error("goodput plot: no points to draw");
  const lo = Math.log(Math.min(...Ts) / 1.25);
  const hi = Math.log(Math.max(...Ts) * 1.25);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (T: number) => MARGIN.left + ((Math.log(T) - lo) / Math.max(hi - lo, 1e-9)) * plotW;
  const y = (g: number) => MARGIN.top + (1 - g) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" font-family="DejaVu Sans, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${MARGIN.left}" y="28" font-size="18" font-weight="bold">${escape(title)}</text>`,
    // A subtitle may run to two lines ("\n"); both fit above the plot.
    ...subtitle.split("\n").slice(0, 2).map((line, i) => `<text x="${MARGIN.left}" y="${44 + i * 13}" font-size="11" fill="#555">${escape(line)}</text>`),
  ];
  for (let g = 0; g <= 1.0001; g += 0.2) {
    out.push(`<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" y1="${y(g)}" y2="${y(g)}" stroke="#ddd"/>`,
      `<text x="${MARGIN.left - 10}" y="${y(g) + 4}" font-size="12" text-anchor="end">${g.toFixed(1)}</text>`);
  }
  for (const T of [...new Set(Ts)].sort((a, b) => a - b)) {
    out.push(`<line x1="${x(T)}" x2="${x(T)}" y1="${MARGIN.top}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
      `<text x="${x(T)}" y="${MARGIN.top + plotH + 20}" font-size="12" text-anchor="middle">${T}</text>`);
  }
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 22}" font-size="13" text-anchor="middle">mean seconds between preemptions (T, log scale)</text>`,
    `<text transform="translate(24 ${MARGIN.top + plotH / 2}) rotate(-90)" font-size="13" text-anchor="middle">goodput (useful steps / steps computed)</text>`,
  );
  lines.forEach((line, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const pts = [...line.points].sort((a, b) => a.T - b.T);
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2.5" points="${pts.map((p) => `${x(p.T)},${y(p.goodput)}`).join(" ")}"/>`);
    for (const p of pts) {
      // A hollow marker: the system had not finished when the benchmark gave up on it.
      out.push(`<circle cx="${x(p.T)}" cy="${y(p.goodput)}" r="5" stroke="${colour}" stroke-width="2" fill="${p.completed ? colour : "white"}"/>`);
    }
    const ly = MARGIN.top + 20 + i * 24;
    const lx = MARGIN.left + plotW + 20;
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${colour}" stroke-width="2.5"/>`,
      `<text x="${lx + 32}" y="${ly}" font-size="13">${escape(line.label)}</text>`);
  });
  const ny = MARGIN.top + 30 + lines.length * 24;
  out.push(`<circle cx="${MARGIN.left + plotW + 32}" cy="${ny - 4}" r="5" stroke="#333" stroke-width="2" fill="white"/>`,
    `<text x="${MARGIN.left + plotW + 44}" y="${ny}" font-size="12">not finished (given up)</text>`, "</svg>");
  return out.join("\n");
}

/** The chart as PNG bytes, with the system's fonts (DejaVu on Debian). */
export function goodputPng(lines: PlotLine[], title: string, subtitle: string): Buffer {
  const svg = goodputSvg(lines, title, subtitle);
  return new Resvg(svg, { font: { loadSystemFonts: true, defaultFontFamily: "DejaVu Sans" }, background: "white" }).render().asPng();
}
