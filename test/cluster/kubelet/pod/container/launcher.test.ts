import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { launch } from "./launcher.js";
import { PidFiles } from "./pid-files.js";

const root = mkdtempSync(join(tmpdir(), "launcher-test-"));
const pids = new PidFiles(join(root, "pids"));
const env = { PATH: process.env.PATH ?? "/usr/bin:/bin" };
after(() => rmSync(root, { recursive: true, force: true }));

// Mount namespaces need root, as the kubelet does.
describe("launch", { skip: process.getuid?.() !== 0 && "needs root" }, () => {
  it("shows a volume at its mount path, read-only when asked, and records the pid while it runs", async () => {
    const volume = join(root, "vol");
    const logFile = join(root, "a.log");
    const target = join(root, "target");
    mkdirSync(volume);
    writeFileSync(join(volume, "f"), "inside\n");
    const c = launch(
      {
        argv: ["sh", "-c", "cat $T/f; touch $T/g 2>/dev/null || echo read-only; ls $PIDS"],
        cwd: "/",
        env: { ...env, T: target, PIDS: join(root, "pids") },
        mounts: [{ source: volume, target, readOnly: true, isFile: false }],
        logFile,
      },
      pids,
    );
    assert.deepEqual(await c.started, { ok: true });
    assert.equal(await c.exited, 0);
    assert.equal(readFileSync(logFile, "utf8"), `inside\nread-only\n${c.pid}\n`);
    assert.deepEqual(readdirSync(join(root, "pids")), []);
    // The mount was the container's own: the host sees an empty mount point.
    assert.deepEqual(readdirSync(target), []);
  });

  it("reports a missing executable as a start failure, with the runtime's message", async () => {
    const c = launch({ argv: ["no-such-binary"], cwd: "/", env, mounts: [], logFile: join(root, "b.log") }, pids);
    assert.deepEqual(await c.started, { ok: false, message: 'exec: "no-such-binary": executable file not found in $PATH' });
  });

  it("reports a death by signal as 128+N", async () => {
    const c = launch({ argv: ["sleep", "30"], cwd: "/", env, mounts: [], logFile: join(root, "c.log") }, pids);
    assert.deepEqual(await c.started, { ok: true });
    c.signal("SIGTERM");
    assert.equal(await c.exited, 143);
  });
});
