// One rank of the all-reduce benchmark (test/bench/allreduce.ts), as its own process: forms
// the gang from the environment, all-reduces a vector of BENCH_FLOATS floats BENCH_WARMUP times
// untimed, then BENCH_ROUNDS times timed, and prints one JSON line of milliseconds per round.
import { trainingConfigSchema } from "../../trainer/src/config/schema.js";
import { openCollective, readGangEnv } from "../../trainer/src/gang/open.js";

const floats = Number(process.env.BENCH_FLOATS);
const rounds = Number(process.env.BENCH_ROUNDS);
const warmup = Number(process.env.BENCH_WARMUP);
const gang = trainingConfigSchema.parse({ totalSteps: 1, gang: { allReduce: process.env.BENCH_ALGORITHM, formationTimeoutSeconds: 60 } }).gang;
const collective = await openCollective(gang, readGangEnv(process.env), { ports: JSON.parse(process.env.BENCH_PORTS ?? "[]") as number[] });
const gradient = new Float32Array(floats).map((_, i) => Math.sin(i + collective.rank));
const ms: number[] = [];
for (let round = 0; round < warmup + rounds; round++) {
  const started = performance.now();
  await collective.allReduceSum(gradient);
  if (round >= warmup) ms.push(performance.now() - started);
}
console.log(JSON.stringify({ rank: collective.rank, ms }));
await collective.close();
