// Every repository path, link, test title and code name the docs cite exists: a doc that
// promises "proven by X" where X was renamed or never written fails here, with each dangling
// citation's doc and line.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { citationsIn, filesUnder, isFileOrDir, resolveTestFile, testSources, testTitles, titleCited, type Citation } from "./citations.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const docs = ["README.md", ...filesUnder(root, ["docs", "trainer", "operator", "charts", "examples"], (p) => p.endsWith(".md"))];
const testFiles = filesUnder(root, ["test"], (p) => p.endsWith(".test.ts"));
// This checker and its fixtures are left out: they name things on purpose that exist nowhere.
const sources = filesUnder(root, ["operator", "trainer", "test", "charts", "examples", "crds"], (p) => /\.(ts|ya?ml|json|tpl|sh|go|py)$/.test(p) && !p.startsWith("test/docs/"));

// Names the docs quote from other projects' code and configuration: nothing here defines them.
const foreignNames = new Set([
  "newBackoffRecord", // kubernetes pkg/controller/job/backoff_utils.go
  "shutdownGracePeriod", // the kubelet's configuration
  "podMonitorSelector", // the Prometheus Operator's Prometheus resource
  "ruleSelector", // the same
]);

const titleCache = new Map<string, string[]>();
function titlesOf(file: string): string[] {
  let titles = titleCache.get(file);
  if (!titles) titleCache.set(file, (titles = testTitles(testSources(root, file))));
  return titles;
}

let sourceText: string | undefined;
function definedSomewhere(name: string): boolean {
  sourceText ??= sources.map((f) => readFileSync(`${root}/${f}`, "utf8")).join("\n");
  return new RegExp(`\\b${name}\\b`).test(sourceText);
}

/** Why a citation dangles, or undefined when what it names exists. */
function problem(c: Citation): string | undefined {
  switch (c.kind) {
    case "path":
    case "link":
      return isFileOrDir(root, c.text) ? undefined : `no such file or directory: ${c.text}`;
    case "testFile":
      return resolveTestFile(c.text, testFiles).length > 0 ? undefined : `no test file ${c.text}`;
    case "name":
      return foreignNames.has(c.text) || definedSomewhere(c.text) ? undefined : `\`${c.text}\` is named nowhere in the code, chart or tests`;
    case "test": {
      const files = (c.files ?? []).flatMap((f) => resolveTestFile(f, testFiles));
      if (files.length === 0) return `no test file ${c.files?.join(", ")}`;
      return files.some((f) => titleCited(c.text, titlesOf(f))) ? undefined : `no test titled "${c.text}" in ${files.join(", ")}`;
    }
  }
}

function dangling(citations: Citation[]): string[] {
  return citations.flatMap((c) => {
    const why = problem(c);
    return why ? [`${c.doc}:${c.line}: ${why}`] : [];
  });
}

describe("the docs cite only what exists", () => {
  const all = docs.flatMap((doc) => citationsIn(root, doc));

  it("finds the citations it is meant to check", () => {
    // A checker that reads nothing passes everything: the reliability table alone cites dozens.
    for (const kind of ["path", "link", "testFile", "test", "name"] as const) {
      assert.ok(all.filter((c) => c.kind === kind).length >= 10, `only ${all.filter((c) => c.kind === kind).length} ${kind} citations found`);
    }
  });

  for (const kind of ["path", "link", "testFile", "test", "name"] as const) {
    it(`every cited ${kind} exists`, () => {
      const missing = dangling(all.filter((c) => c.kind === kind));
      assert.ok(missing.length === 0, `${missing.length} dangling:\n${missing.join("\n")}`);
    });
  }
  it("no doc says a thing is tested without naming the test", () => {
    // "(tested)" is a claim nothing can check; the test's file and title are.
    // The whole parenthesis, which may run over lines: "(tested with …, `test/x.test.ts`)".
    const unnamed = docs.flatMap((doc) => {
      const text = readFileSync(`${root}/${doc}`, "utf8");
      return [...text.matchAll(/\(tested\b[^)]*\)?/g)]
        .filter((m) => !/\.test\.ts/.test(m[0]))
        .map((m) => `${doc}:${text.slice(0, m.index).split("\n").length}: ${m[0].replace(/\s+/g, " ")}`);
    });
    assert.ok(unnamed.length === 0, `${unnamed.length} unnamed:\n${unnamed.join("\n")}`);
  });
});

describe("the citation checker", () => {
  const titles = testTitles([
    `it("a symlink in place of a file is corrupt", () => {});
     test('a FIFO in place of a file is corrupt', () => {});
     for (const name of ["a first pass", "an attempt ending"]) it(\`\${name}: leaves its input untouched\`, () => {});
     const LIMIT = 300;
     it(\`gives up after \${LIMIT} s\`, () => {});`,
  ]);

  it("reads paths, links, test files with their titles and code names from markdown, and skips what is not a citation", () => {
    const dir = mkdtempSync(`${tmpdir()}/citations-`);
    try {
      writeFileSync(
        `${dir}/x.md`,
        [
          "See kubernetes.io/docs/concepts and `test/bench/trainer-{a,b}.ts`; `tsc -b` builds trainer/protocol/dist.",
          "| examples/s | `fuzz.test.ts` \"a symlink … is corrupt\", a `{\"bad key!\": x}` run | [the protocol](docs/p.md#top) |",
          "`classifyFailure` in operator/src/cli.ts.",
          "```",
          "`notAName` \"not a title at all\" `fuzz.test.ts` examples/run.yaml",
          "```",
        ].join("\n"),
      );
      const found = citationsIn(dir, "x.md").map((c) => `${c.line} ${c.kind} ${c.text}${c.files ? ` in ${c.files.join()}` : ""}`);
      assert.deepEqual(found.sort(), [
        "1 path test/bench",
        "2 link docs/p.md",
        "2 path docs/p.md",
        "2 test a symlink … is corrupt in fuzz.test.ts",
        "2 testFile fuzz.test.ts",
        "3 name classifyFailure",
        "3 path operator/src/cli.ts",
        "5 path examples/run.yaml",
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("matches shortened titles: pieces in order, alternatives split by ' / '", () => {
    assert.ok(titleCited("a symlink … / a FIFO … is corrupt", titles));
    assert.ok(titleCited("a symlink in place", titles));
    assert.ok(!titleCited("is corrupt … a symlink", titles), "pieces out of order");
    assert.ok(!titleCited("a symlink … / a socket …", titles), "one alternative names no test");
  });

  it("expands a run-time part of a title with the strings its sources hold, and with nothing else", () => {
    assert.ok(titleCited("a first pass: leaves its input untouched", titles));
    assert.ok(titleCited("an attempt ending: leaves …", titles));
    assert.ok(!titleCited("a second run: leaves its input untouched", titles));
    assert.ok(titleCited("gives up after 300 s", titles), "a constant stands for its value");
    assert.ok(!titleCited("gives up after a first pass", titles), "and for nothing else");
  });

  it("reports a dangling path, test title and code name with the doc and line", () => {
    const cited: Citation[] = [
      { doc: "README.md", line: 3, kind: "path", text: "operator/src/reconcile/no-such-step.ts" },
      { doc: "docs/x.md", line: 7, kind: "test", text: "a second run on the same prefix is refused", files: ["fuzz.test.ts"] },
      { doc: "docs/x.md", line: 9, kind: "name", text: "StorageInUseNowhere" },
      { doc: "docs/x.md", line: 9, kind: "path", text: "operator/src/reconcile/decide.ts" },
    ];
    assert.deepEqual(dangling(cited), [
      "README.md:3: no such file or directory: operator/src/reconcile/no-such-step.ts",
      'docs/x.md:7: no test titled "a second run on the same prefix is refused" in test/trainer/fuzz.test.ts',
      "docs/x.md:9: `StorageInUseNowhere` is named nowhere in the code, chart or tests",
    ]);
  });
});
