import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { imageName, resolveCommand } from "./image-command.js";

const map = { "resumable/trainer": { command: ["node", "/repo/trainer/dist/cli.js"], cwd: "/repo" } };

describe("resolveCommand", () => {
  it("strips tags and digests but not registry ports", () => {
    assert.equal(imageName("resumable/trainer:0.1.0"), "resumable/trainer");
    assert.equal(imageName("localhost:5000/resumable/trainer@sha256:abc"), "localhost:5000/resumable/trainer");
  });

  it("appends args to the image's entrypoint; command replaces it", () => {
    assert.deepEqual(resolveCommand({ name: "t", image: "resumable/trainer:1", args: ["--config", "c"] }, map), {
      argv: ["node", "/repo/trainer/dist/cli.js", "--config", "c"],
      cwd: "/repo",
    });
    assert.deepEqual(resolveCommand({ name: "t", image: "docker.io/resumable/trainer", command: ["sh"], workingDir: "/w" }, map), {
      argv: ["sh"],
      cwd: "/w",
    });
  });

  it("runs an unknown image's command on the host, and refuses an empty one", () => {
    assert.deepEqual(resolveCommand({ name: "b", image: "busybox", command: ["sh", "-c", "true"] }, map).argv, ["sh", "-c", "true"]);
    assert.throws(() => resolveCommand({ name: "b", image: "busybox" }, map), /no command specified/);
  });
});
