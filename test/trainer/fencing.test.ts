// Fencing tokens on a directory; the same tests run on a bucket in
// checkpoint-store-s3.integration.test.ts.
import { directoryPlace } from "./helpers/places.js";
import { fencingContract } from "./helpers/store-contract.js";

fencingContract("directory", directoryPlace);
