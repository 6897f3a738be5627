// allowedImages matches whole path segments of image references: a prefix never admits a
// longer repository name, a host that merely starts alike, or a tag or digest that makes a
// name look like it continues the prefix.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { imageAllowed, parseAllowedImage, parseImage } from "../../operator/src/api/image.js";

describe("image references", () => {
  it("are read as the runtimes read them: Docker Hub's implicit host and library/ spelled out", () => {
    assert.deepEqual(parseImage("python:3.12"), { repository: "docker.io/library/python", tag: "3.12" });
    assert.deepEqual(parseImage("myorg/trainer"), { repository: "docker.io/myorg/trainer" });
    assert.deepEqual(parseImage("index.docker.io/myorg/trainer:1"), { repository: "docker.io/myorg/trainer", tag: "1" });
    assert.deepEqual(parseImage("Registry.Example.com:5000/ml/x@sha256:" + "a".repeat(64)), {
      repository: "registry.example.com:5000/ml/x",
      digest: `sha256:${"a".repeat(64)}`,
    });
    assert.deepEqual(parseImage("localhost/x:1@sha256:" + "b".repeat(64)), { repository: "localhost/x", tag: "1", digest: `sha256:${"b".repeat(64)}` });
  });

  it("what is no reference is undefined (the kubelet could not pull it)", () => {
    for (const bad of ["", "registry.example.com/ml/../x", "registry.example.com//x", "registry.example.com/ML/x", "x:tag:tag", "x@sha256:short", "x:", "/x", "x/", "https://registry.example.com/x", "x y"]) {
      assert.equal(parseImage(bad), undefined, bad);
    }
  });

  const allowed = ["registry.example.com/ml"];
  const table: [string, string[], boolean][] = [
    ["registry.example.com/ml", allowed, true],
    ["registry.example.com/ml:1.0", allowed, true],
    ["registry.example.com/ml@sha256:" + "c".repeat(64), allowed, true],
    ["registry.example.com/ml/trainer:1.0", allowed, true],
    ["registry.example.com/ml/team/trainer:1.0@sha256:" + "c".repeat(64), allowed, true],
    ["REGISTRY.EXAMPLE.COM/ml/trainer", allowed, true],
    ["registry.example.com/ml/trainer", ["registry.example.com/ml/"], true],
    ["registry.example.com/anything/x", ["registry.example.com"], true],
    ["registry.example.com/anything/x", ["registry.example.com/"], true],
    // Hostile: a longer name, a look-alike host, a port, a nested host, a tag or digest in the way.
    ["registry.example.com/ml-evil/x", allowed, false],
    ["registry.example.com/mlx", allowed, false],
    ["registry.example.com/ml_x/y", allowed, false],
    ["registry.example.com.evil.io/ml/x", allowed, false],
    ["registry.example.com:443/ml/x", allowed, false],
    ["evil.io/registry.example.com/ml/x", allowed, false],
    ["registry.example.com/ml:x/evil", allowed, false],
    ["registry.example.com/ml@sha256:" + "c".repeat(64) + "/evil", allowed, false],
    ["registry.example.com/ml/../evil/x", allowed, false],
    ["registry.example.com/ml//x", allowed, false],
    ["registry.example.com/ml/X", allowed, false],
    ["registry.example.com", allowed, false],
    ["ml/x", allowed, false],
    ["registry.example.co/ml/x", ["registry.example.com"], false],
    // Docker Hub: short names and their spelled-out forms are one repository.
    ["python:3.12", ["docker.io/library/python"], true],
    ["docker.io/library/python:3.12", ["python"], true],
    ["myorg/trainer", ["docker.io/myorg"], true],
    ["myorg-evil/trainer", ["docker.io/myorg"], false],
    ["myorg/trainer", ["myorg"], false],
    ["python:3", ["docker.io/python:3"], true],
    // Pinned entries admit only that tag or digest of that repository.
    ["ghcr.io/org/trainer:1.2", ["ghcr.io/org/trainer:1.2"], true],
    ["ghcr.io/org/trainer:1.2@sha256:" + "d".repeat(64), ["ghcr.io/org/trainer:1.2"], true],
    ["ghcr.io/org/trainer:1.3", ["ghcr.io/org/trainer:1.2"], false],
    ["ghcr.io/org/trainer/x:1.2", ["ghcr.io/org/trainer:1.2"], false],
    ["ghcr.io/org/trainer@sha256:" + "d".repeat(64), ["ghcr.io/org/trainer@sha256:" + "d".repeat(64)], true],
    ["ghcr.io/org/trainer:latest", ["ghcr.io/org/trainer@sha256:" + "d".repeat(64)], false],
    ["ghcr.io/org/trainer@sha256:" + "e".repeat(64), ["ghcr.io/org/trainer@sha256:" + "d".repeat(64)], false],
    // No entries: any image.
    ["anything/at:all", [], true],
  ];
  for (const [image, entries, expected] of table) {
    it(`${image} with ${JSON.stringify(entries)} → ${expected ? "admitted" : "refused"}`, () => {
      assert.equal(imageAllowed(image, entries), expected);
    });
  }

  it("random names around a prefix: admitted exactly when the repository is the prefix or continues it at a '/'", () => {
    const seed = Number(process.env.IMAGE_SEED ?? Date.now() % 1_000_000);
    console.log(`image reference property test: IMAGE_SEED=${seed}`);
    let state = seed;
    const next = (n: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state % n;
    };
    const pieces = ["/", "-", "_", ".", ":", "@", "x", "ml", "1", "sha256:" + "f".repeat(64), "evil", "/ml"];
    const prefix = "registry.example.com/ml";
    for (let i = 0; i < 2000; i++) {
      const tail = Array.from({ length: 1 + next(4) }, () => pieces[next(pieces.length)]).join("");
      const image = prefix + tail;
      const ref = parseImage(image);
      const expected = ref !== undefined && (ref.repository === prefix || ref.repository.startsWith(`${prefix}/`));
      assert.equal(imageAllowed(image, [prefix]), expected, `seed ${seed}: ${image}`);
      // Whatever the tail, the repository is admitted only at a segment boundary.
      if (imageAllowed(image, [prefix])) assert.match(image, /^registry\.example\.com\/ml([/:@]|$)/, `seed ${seed}: ${image}`);
    }
  });

  it("allowedImages entries: a registry, a repository prefix or a pinned image; nothing else", () => {
    assert.deepEqual(parseAllowedImage("registry.example.com:5000/"), { repository: "registry.example.com:5000" });
    assert.deepEqual(parseAllowedImage("registry.example.com/ml/"), { repository: "registry.example.com/ml" });
    for (const bad of ["ghcr.io/org/trainer:", "https://x.io/y", "x.io/Y", "a/../b"]) assert.equal(parseAllowedImage(bad), undefined, bad);
  });
});
