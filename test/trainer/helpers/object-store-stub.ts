import type { ObjectStore } from "../../../trainer/src/checkpoint/backends/object/object-store.js";

/**
 * An ObjectStore at s3://bucket/p for a test that scripts only the calls it is about: listing
 * finds nothing, head finds nothing, deletes succeed, and reads, copies and puts reject
 * unless `calls` gives them.
 */
export function objectStoreStub(calls: Partial<ObjectStore>): ObjectStore {
  const unused = () => Promise.reject(new Error("not scripted by this test"));
  return {
    location: "s3://bucket/p",
    url: (key) => `s3://bucket/p/${key}`,
    putObject: unused,
    getObject: unused,
    getObjectVersioned: unused,
    head: () => Promise.resolve(undefined),
    list: () => (async function* () {})(),
    listPrefixes: () => (async function* () {})(),
    delete: () => Promise.resolve(),
    deletePrefix: () => Promise.resolve(0),
    copy: unused,
    ...calls,
  };
}
