// Writes the CRD generated from the zod schemas: `node --import tsx crds/generate.ts`.
import { writeFileSync } from "node:fs";
import { renderCrdYaml } from "../operator/src/api/crd.js";

writeFileSync(new URL("resumable.dev_trainingruns.yaml", import.meta.url), renderCrdYaml());
