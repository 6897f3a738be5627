// Faults any API client can inject into a node by annotating it, e.g.
//   kubectl annotate node spot-a resumable.dev/fault=spot-reclaim
// docs/local-cluster.md describes what each one does.

export const FAULT_ANNOTATION = "resumable.dev/fault";

const FAULTS = ["spot-reclaim", "hard-loss", "partition"] as const;
export type Fault = (typeof FAULTS)[number];

/** The fault an annotation value names; undefined for none or an unknown value. */
export function parseFault(value: string | undefined): Fault | undefined {
  return FAULTS.find((f) => f === value?.trim());
}
