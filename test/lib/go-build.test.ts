// test/lib/go-build.sh under contention: two processes that need the same binary at once (two
// test files on a cold cache) compile it once, and both get it. A fake `go` on PATH records
// each compile and takes a second, so the two overlap.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("go-build.sh", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "go-build-test-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// `go build … -o OUT PKG…`: OUT is a file, or a directory (ends in /) that gets one binary per package.
const fakeGo = `#!/usr/bin/env bash
set -eu
echo "$*" >> "${dir}/compiles"
sleep 1
out=""; pkgs=()
while [ $# -gt 0 ]; do
  case "$1" in
    -o) out=$2; shift 2 ;;
    -ldflags) shift 2 ;;
    build|-trimpath) shift ;;
    *) pkgs+=("$1"); shift ;;
  esac
done
if [[ "$out" == */ ]]; then for p in "\${pkgs[@]}"; do echo bin > "$out/$(basename "$p")"; chmod +x "$out/$(basename "$p")"; done
else echo bin > "$out"; chmod +x "$out"; fi
`;
writeFileSync(join(dir, "go"), fakeGo);
chmodSync(join(dir, "go"), 0o755);

function builder(out: string, call: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", `set -euo pipefail; . "${script}"; out="${out}"; ${call}`], {
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

const compiles = () => (existsSync(join(dir, "compiles")) ? readFileSync(join(dir, "compiles"), "utf8").trim().split("\n").length : 0);

test("two builds of one binary at once compile it once, and both succeed", async () => {
  rmSync(join(dir, "compiles"), { force: true });
  const out = join(dir, "one");
  const call = `build helm "${dir}" example.com/cmd/helm ""`;
  const [a, b] = await Promise.all([builder(out, call), builder(out, call)]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.ok(existsSync(join(out, "helm")));
  assert.equal(compiles(), 1, "compiled once");
  assert.match(a.stderr + b.stderr, /waiting for another build of helm/);
});

test("two builds of one set of binaries at once compile them once, and both succeed", async () => {
  rmSync(join(dir, "compiles"), { force: true });
  const out = join(dir, "set");
  const call = `build_together "${dir}" "" "" prometheus=example.com/cmd/prometheus promtool=example.com/cmd/promtool`;
  const [a, b] = await Promise.all([builder(out, call), builder(out, call)]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.ok(existsSync(join(out, "prometheus")) && existsSync(join(out, "promtool")));
  assert.equal(compiles(), 1, "compiled once");
});
