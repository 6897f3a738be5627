// One owner per checkpoint location on a directory and on an object store in memory (where the
// store and fencing contracts run too); the same tests run on a bucket in
// checkpoint-store-s3.integration.test.ts.
import { directoryPlace, memoryPlace } from "./helpers/places.js";
import { ownershipContract } from "./helpers/ownership-contract.js";
import { fencingContract, storeContract } from "./helpers/store-contract.js";

ownershipContract("directory", directoryPlace);
ownershipContract("memory", memoryPlace);
storeContract("memory", memoryPlace);
fencingContract("memory", memoryPlace);
