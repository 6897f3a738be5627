// `make cluster-up JOBSET=1`: JobSet beside the local cluster cluster-up started.
import { upBesideCluster } from "../cluster/addon.js";
import { startJobSet } from "./start.js";

await upBesideCluster("JobSet", startJobSet);
