// What the docs cite, and what the repository holds: the two sides test/docs/citations.test.ts
// compares, so a renamed file, a drifted test title or a name nothing defines shows up as a
// failing unit test instead of a reviewer's finding.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";

export interface Citation {
  doc: string;
  line: number;
  kind: "path" | "link" | "testFile" | "test" | "name";
  /** The path, the test file and title, or the identifier, as the doc writes it. */
  text: string;
  /** For a test title: the test files it may be in (repository-relative). */
  files?: string[];
}

const roots = ["operator", "trainer", "test", "charts", "docs", "examples", "crds"];
// A root at a word start (not inside a URL or another path), then path characters.
// Two characters at least after the root ("examples/s" is a unit), and no brace expansion.
const pathPattern = new RegExp(`(?<![\\w./@:-])(?:${roots.join("|")})/[\\w@-][\\w./@-]*[\\w/](?![\\w{-])`, "g");
const linkPattern = /\]\(([^)\s]+)\)/g;
// A test file named by path or by its base name: `test/trainer/fuzz.test.ts`, `fuzz.test.ts`.
const testFilePattern = /`([\w./-]*\.test\.ts)`/g;
const quotePattern = /"([^"]{8,})"/g;
// camelCase or PascalCase identifiers in backticks: `classifyFailure`, `FenceConflictError`.
const namePattern = /`((?:[a-z]+|[A-Z][a-z]+)(?:[A-Z][a-z0-9]+)+)`/g;

/** Every citation in one markdown file; `root` is the repository, `doc` relative to it. */
export function citationsIn(root: string, doc: string): Citation[] {
  const out: Citation[] = [];
  const lines = readFileSync(join(root, doc), "utf8").split("\n");
  let fenced = false;
  lines.forEach((text, i) => {
    const line = i + 1;
    // Code blocks hold commands and output: their paths are cited too, their names and quotes are code.
    if (text.trimStart().startsWith("```")) fenced = !fenced;
    for (const m of text.matchAll(pathPattern)) {
      // Build output (dist/) exists only after a build; placeholders (<run>, *, ...) are no paths.
      if (!/[*<>]|\.\.\.|\/dist(\/|$)/.test(m[0])) out.push({ doc, line, kind: "path", text: m[0].replace(/[.:]+$/, "") });
    }
    for (const m of text.matchAll(linkPattern)) {
      const target = m[1]!.split("#")[0];
      if (target && !/^[a-z]+:/.test(target)) out.push({ doc, line, kind: "link", text: normalize(join(dirname(doc), target)) });
    }
    if (!fenced) {
      for (const m of text.matchAll(namePattern)) out.push({ doc, line, kind: "name", text: m[1]! });
      for (const m of text.matchAll(testFilePattern)) out.push({ doc, line, kind: "testFile", text: m[1]! });
      // A table cell (or a line outside tables) is read left to right: a quoted title belongs
      // to the test file named last before it in the same cell.
      for (const cell of text.split("|")) out.push(...testTitlesIn(cell, doc, line));
    }
  });
  return out;
}

function testTitlesIn(cell: string, doc: string, line: number): Citation[] {
  const out: Citation[] = [];
  const files = [...cell.matchAll(testFilePattern)].map((m) => ({ at: m.index, file: m[1]! }));
  // A quote inside backticks is code (`{"bad key!": x}`), not a title: blanked, positions kept.
  const prose = cell.replace(/`[^`]*`/g, (code) => " ".repeat(code.length));
  for (const q of prose.matchAll(quotePattern)) {
    const file = files.filter((f) => f.at < q.index).at(-1)?.file;
    if (file) out.push({ doc, line, kind: "test", text: q[1]!, files: [file] });
  }
  return out;
}

/** Repository files under `dirs`, relative to root, skipping dependencies and build output. */
export function filesUnder(root: string, dirs: string[], accept: (path: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (["node_modules", "dist", ".cluster", ".git"].includes(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (accept(path)) out.push(path);
    }
  };
  for (const dir of dirs) if (existsSync(join(root, dir))) walk(dir);
  return out.sort();
}

/** Most titles a run-time title is expanded into; past it, the rest are not tried. */
const maxExpansions = 50_000;

/**
 * The titles of the test(), it() and describe() calls in `sources` (a test file and the helpers
 * it imports). A template literal's `${...}` stands for a value the test makes at run time,
 * usually a string from a table in the same sources, so each such part is expanded with every
 * string literal there: "a manifest with ${what} is corrupt" becomes one title per fault. A
 * part that names a constant those sources define takes that constant's value only.
 */
export function testTitles(sources: string[]): string[] {
  const text = sources.join("\n");
  const literals = [...new Set([...text.matchAll(/"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'/g)].map((m) => unescape(m[1] ?? m[2] ?? "")))];
  const call = /\b(?:test|it|describe)(?:\.(?:only|skip|todo))?\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|`((?:[^`\\]|\\.)*)`)/g;
  // A named constant stands for its one value: `${RETURN_PENDING_SECONDS}` is 300, nothing else.
  const constants = new Map([...text.matchAll(/\bconst ([A-Za-z_]\w*)\s*=\s*(?:"([^"\n]*)"|'([^'\n]*)'|(-?[\d.]+)\b)/g)].map((m) => [m[1]!, m[2] ?? m[3] ?? m[4] ?? ""]));
  return [...text.matchAll(call)].flatMap((m) => {
    const literal = unescape(m[1] ?? m[2] ?? m[3] ?? "");
    const holes = [...literal.matchAll(/\$\{\s*([^}]*?)\s*\}/g)].map((h) => h[1]!);
    const parts = literal.split(/\$\{[^}]*\}/);
    let titles = [parts[0] ?? ""];
    holes.forEach((hole, i) => {
      const values = constants.has(hole) ? [constants.get(hole)!] : literals;
      titles = titles.flatMap((t) => values.map((v) => t + v + (parts[i + 1] ?? ""))).slice(0, maxExpansions);
    });
    return titles;
  });
}

function unescape(s: string): string {
  return s.replace(/\\(.)/g, "$1");
}

/**
 * Whether a cited title names a test among `titles`. Docs shorten titles: "…" stands for
 * left-out words and " / " separates several tests of one file ("a symlink … / a FIFO … is
 * corrupt"). Each alternative's pieces must appear, in order, in one title.
 */
export function titleCited(cited: string, titles: string[]): boolean {
  return cited.split(" / ").every((alternative) => {
    const pieces = alternative
      .split(/…|\.\.\./)
      .map((p) => p.trim())
      .filter((p) => p.length > 0);
    return titles.some((title) => piecesInOrder(pieces, title));
  });
}

function piecesInOrder(pieces: string[], title: string): boolean {
  let from = 0;
  for (const piece of pieces) {
    const at = title.indexOf(piece, from);
    if (at < 0) return false;
    from = at + piece.length;
  }
  return true;
}

/** A test file and the local modules it imports (one level: the helpers that declare its tests). */
export function testSources(root: string, file: string): string[] {
  const source = readFileSync(join(root, file), "utf8");
  const imported = [...source.matchAll(/from "(\.{1,2}\/[^"]+)\.js"/g)]
    .map((m) => join(dirname(file), `${m[1]}.ts`))
    .filter((f) => existsSync(join(root, f)));
  return [source, ...imported.map((f) => readFileSync(join(root, f), "utf8"))];
}

/** Resolves a cited test file (a path or a base name) to the repository's test files. */
export function resolveTestFile(cited: string, testFiles: string[]): string[] {
  if (cited.includes("/")) return testFiles.filter((f) => f === cited);
  return testFiles.filter((f) => f.endsWith(`/${cited}`));
}

export function isFileOrDir(root: string, path: string): boolean {
  try {
    statSync(join(root, path));
    return true;
  } catch {
    return false;
  }
}
