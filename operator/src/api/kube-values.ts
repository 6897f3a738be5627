// Kubernetes value syntaxes the spec's sections share: a value the apiserver would refuse in
// the pod or PVC the operator creates is refused in the spec instead, where the user sees it.
import { z } from "zod";

/** Kubernetes' resource.Quantity syntax (apimachinery's quantity regexp). */
const QUANTITY =
  /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

export const quantity = z
  .union([z.int().nonnegative(), z.string().regex(QUANTITY)])
  .meta({ "x-kubernetes-int-or-string": true });

/**
 * Names the apiserver would refuse in the pod or PVC the operator creates; checked here,
 * where the user gets the error, rather than at pod creation, where only the operator sees it.
 */
export const objectName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, "must be a DNS subdomain name");

/** Open-ended Kubernetes structures the operator passes through untouched. */
export const passThrough = z.record(z.string(), z.unknown());
