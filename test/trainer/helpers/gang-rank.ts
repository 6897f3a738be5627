// One rank as its own process, for the transport's kill test and nothing else: forms the
// gang from the environment (as a pod would: RESUMABLE_RANK, RESUMABLE_WORLD_SIZE, the peers
// file), then all-reduces a vector round after round until the gang ends, and exits with the
// code the trainer gives that error. GANG_TEST_PORTS: every rank's port, JSON.
import { classifyFailure } from "../../../trainer/src/main.js";
import { openCollective, readGangEnv } from "../../../trainer/src/gang/open.js";

const ports = JSON.parse(process.env.GANG_TEST_PORTS ?? "[]") as number[];
const peerTimeoutSeconds = Number(process.env.GANG_TEST_PEER_TIMEOUT ?? 5);
try {
  const collective = await openCollective({ formationTimeoutSeconds: 20, peerTimeoutSeconds, allReduce: "ring" }, readGangEnv(process.env), { ports });
  const gradient = new Float32Array(100_000).fill(collective.rank + 1);
  for (let round = 0; ; round++) {
    await collective.allReduceSum(gradient);
    if (round % 10 === 0) console.log(`round ${round}`);
  }
} catch (err) {
  console.log(`${(err as Error).name}: ${(err as Error).message}`);
  process.exitCode = classifyFailure(err as Error).exitCode;
}
