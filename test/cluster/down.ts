// `make cluster-down`: stops every process the local cluster started, by pid, and removes its state.
import { resolve } from "node:path";
import { stopCluster } from "./cluster.js";

const stateDir = resolve(process.env.RESUMABLE_CLUSTER_DIR ?? ".cluster");
await stopCluster(stateDir);
console.log(`Local cluster in ${stateDir} stopped and removed.`);
