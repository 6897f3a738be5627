// The goodput sweep's picture: a real PNG of the size drawn, every line in it, and a clear
// refusal when there is nothing to draw.
import assert from "node:assert/strict";
import { test } from "node:test";
import { goodputPng, goodputSvg, type PlotLine } from "../bench/_plot.js";

const lines: PlotLine[] = [
  { label: "resumable, every 100 steps", points: [{ T: 10, goodput: 1, completed: true }, { T: 40, goodput: 1, completed: true }] },
  { label: "Job + ckpt, every 100 steps", points: [{ T: 10, goodput: 0.4, completed: false }, { T: 40, goodput: 0.8, completed: true }] },
];

test("the sweep is drawn as a PNG of the chart's size", () => {
  const png = goodputPng(lines, "title", "subtitle");
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], "PNG signature");
  // IHDR: width and height, big-endian, at bytes 16–23.
  assert.equal(png.readUInt32BE(16), 900);
  assert.equal(png.readUInt32BE(20), 560);
});

test("every system gets a line and a legend entry, and a run not finished a hollow marker", () => {
  const svg = goodputSvg(lines, "title", "subtitle");
  assert.equal(svg.match(/<polyline /g)?.length, 2);
  for (const l of lines) assert.ok(svg.includes(`>${l.label}<`), l.label);
  assert.equal(svg.match(/<circle [^>]*fill="white"\/>/g)?.length, 2, "one hollow data marker and the legend's");
});

test("nothing to draw is refused by name", () => {
  assert.throws(() => goodputSvg([], "t", "s"), /goodput plot: no points to draw/);
});
