import { ENV } from "@resumable/protocol";
import { z } from "zod";
import { ConfigError } from "../config-error.js";

/**
 * The run a checkpoint location belongs to: recorded in every claim of the fence and every
 * manifest, so a second run pointed at the same volume or prefix (a copied run.yaml, another
 * namespace, another cluster) is refused before it claims or writes anything.
 */
export const ownerSchema = z.strictObject({
  name: z.string().min(1),
  /** Unknown for a trainer started by hand without RESUMABLE_POD_NAMESPACE. */
  namespace: z.string().min(1).optional(),
  /** metadata.uid of the TrainingRun; unknown before operators set RESUMABLE_RUN_UID. */
  uid: z.string().min(1).optional(),
});
export type RunOwner = z.infer<typeof ownerSchema>;

/** The location belongs to another run: a config-class refusal (exit 2), nothing claimed or written. */
export class LocationOwnedError extends ConfigError {
  override readonly name = "LocationOwnedError";
}

/**
 * This trainer's run, from RESUMABLE_RUN (and namespace, uid); undefined when started without one.
 * Takes the values, not the environment: the caller reads config (TrainerEnv fits as it is).
 */
export function ownerOf(env: { run: string | undefined; runUid: string | undefined; pod: { namespace: string } | undefined }): RunOwner | undefined {
  if (!env.run) return undefined;
  return { name: env.run, ...(env.pod?.namespace && { namespace: env.pod.namespace }), ...(env.runUid && { uid: env.runUid }) };
}

export function describeOwner(owner: RunOwner): string {
  return `${owner.namespace === undefined ? "" : `${owner.namespace}/`}${owner.name}${owner.uid === undefined ? "" : ` (uid ${owner.uid})`}`;
}

/**
 * Whether `me` is the run `recorded` names. A field either side does not know is not compared
 * (a claim from before uids were recorded still matches its run), but a name is always needed:
 * a trainer without RESUMABLE_RUN cannot show it is the owner. Another uid under the same
 * namespace/name is another run: a deliberately re-created one, or one in another cluster.
 */
export function isSameOwner(recorded: RunOwner, me: RunOwner | undefined): boolean {
  if (me === undefined || recorded.name !== me.name) return false;
  const differs = (a: string | undefined, b: string | undefined) => a !== undefined && b !== undefined && a !== b;
  return !differs(recorded.namespace, me.namespace) && !differs(recorded.uid, me.uid);
}

/**
 * Refuses a location any of whose claims names another run. Claims with no owner (written
 * before owners were recorded, or by a trainer started without RESUMABLE_RUN) belong to no one:
 * such a location is adopted, and this trainer's claim records it as the owner.
 */
export function refuseIfOwnedByAnother(location: string, claims: readonly { owner?: RunOwner }[], me: RunOwner | undefined): void {
  const other = claims.find((c) => c.owner !== undefined && !isSameOwner(c.owner, me))?.owner;
  if (other === undefined) return;
  const who = me === undefined ? `this trainer names no run (${ENV.run} unset)` : `this trainer is run ${describeOwner(me)}`;
  const recreated = me !== undefined && other.name === me.name && other.namespace === me.namespace;
  throw new LocationOwnedError(
    `${location} belongs to run ${describeOwner(other)}; ${who}: refusing to use it, nothing was claimed or written. ` +
      (recreated
        ? "A run of the same name with another uid is another run (re-created, or in another cluster); the old run's checkpoints are left as they are. " +
          "To continue from them on purpose: once no trainer of the old run is left, remove the location's fence (fence and fence.* files, or the fence object): a location without a fence belongs to no one. Otherwise "
        : "") +
      "give this run its own checkpoint location (claimName, or bucket prefix). To start from the owner's weights, copy one of its ckpt-* checkpoints into the new location.",
  );
}
