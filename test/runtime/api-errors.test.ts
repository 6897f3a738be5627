// How a failed call is told apart: an HTTP answer, or no answer and why.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { httpStatus, networkFailure } from "@resumable/kube-runtime";

const fetchFailed = (cause: unknown) => Object.assign(new TypeError("fetch failed"), { cause });

describe("api errors", () => {
  it("an HTTP answer has a status and no network failure", () => {
    const notFound = Object.assign(new Error("HTTP-Code: 404"), { code: 404 });
    assert.equal(httpStatus(notFound), 404);
    assert.equal(networkFailure(notFound), undefined);
  });

  it("finds the error code down undici's cause chain", () => {
    const refused = fetchFailed(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:6443"), { code: "ECONNREFUSED" }));
    assert.equal(networkFailure(refused), "ECONNREFUSED");
    assert.equal(httpStatus(refused), undefined);
  });

  it("without a code, names the innermost cause rather than 'fetch failed'", () => {
    assert.equal(networkFailure(fetchFailed(new Error("bad port"))), "bad port");
  });

  it("an error that is neither is left to the caller", () => {
    assert.equal(networkFailure(new Error("something else")), undefined);
  });
});
