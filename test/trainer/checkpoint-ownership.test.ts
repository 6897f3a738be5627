// One owner per checkpoint location on a directory and on an object store in memory; the same
// tests run on a bucket in checkpoint-store-s3.integration.test.ts.
import { directoryPlace, memoryPlace } from "./helpers/places.js";
import { ownershipContract } from "./helpers/ownership-contract.js";

ownershipContract("directory", directoryPlace);
ownershipContract("memory", memoryPlace);
