// `make cluster-up KUEUE=1`: Kueue beside the local cluster cluster-up started.
import { upBesideCluster } from "../cluster/addon.js";
import { startKueue } from "./start.js";

await upBesideCluster("Kueue", startKueue);
