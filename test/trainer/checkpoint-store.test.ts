// The checkpoint store's contract on a directory; the same tests run on a bucket in
// checkpoint-store-s3.integration.test.ts.
import { directoryPlace } from "./helpers/places.js";
import { storeContract } from "./helpers/store-contract.js";

storeContract("directory", directoryPlace);
