// A container's environment, built in the kubelet's order
// (makeEnvironmentVariables): envFrom sources, then env entries with $(VAR)
// expansion over what came before, then the `kubernetes` service variables
// where the pod didn't set them. The apiserver is reached at its real
// loopback address, so in-cluster clients work unchanged.
import type { ConfigMap, Container, KeySelector, Pod, Secret } from "../../api/types.js";
import { expand } from "./expand.js";
import { podField, type PodRuntimeFields } from "../field-ref.js";

/** Fetches a ConfigMap or Secret; resolves undefined when it does not exist. */
export interface ObjectLookups {
  configMap(namespace: string, name: string): Promise<ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<Secret | undefined>;
}

export interface EnvContext extends PodRuntimeFields {
  apiserverHost: string;
  apiserverPort: number;
}

/** A container that cannot be configured: waiting, reason CreateContainerConfigError. */
export class ContainerConfigError extends Error {
  override name = "ContainerConfigError";
}

/** The variables of the `kubernetes` Service in `default`, pointing at the real apiserver. */
function kubernetesServiceEnv(host: string, port: number): Record<string, string> {
  const url = `tcp://${host}:${port}`;
  return {
    KUBERNETES_SERVICE_HOST: host,
    KUBERNETES_SERVICE_PORT: String(port),
    KUBERNETES_SERVICE_PORT_HTTPS: String(port),
    KUBERNETES_PORT: url,
    [`KUBERNETES_PORT_${port}_TCP`]: url,
    [`KUBERNETES_PORT_${port}_TCP_PROTO`]: "tcp",
    [`KUBERNETES_PORT_${port}_TCP_PORT`]: String(port),
    [`KUBERNETES_PORT_${port}_TCP_ADDR`]: host,
  };
}

function decodeSecret(secret: Secret): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, "base64").toString("utf8");
  return out;
}

async function configMapData(lookups: ObjectLookups, ns: string, name: string, optional: boolean | undefined) {
  const cm = await lookups.configMap(ns, name);
  if (!cm && !optional) throw new ContainerConfigError(`configmap "${name}" not found`);
  return cm ? { ...cm.data } : undefined;
}

async function secretData(lookups: ObjectLookups, ns: string, name: string, optional: boolean | undefined) {
  const secret = await lookups.secret(ns, name);
  if (!secret && !optional) throw new ContainerConfigError(`secret "${name}" not found`);
  return secret ? decodeSecret(secret) : undefined;
}

async function keyRef(
  kind: "ConfigMap" | "Secret",
  ref: KeySelector,
  ns: string,
  lookups: ObjectLookups,
): Promise<string | undefined> {
  const name = ref.name ?? "";
  const data =
    kind === "ConfigMap"
      ? await configMapData(lookups, ns, name, ref.optional)
      : await secretData(lookups, ns, name, ref.optional);
  if (!data) return undefined;
  const value = data[ref.key];
  if (value === undefined && !ref.optional) {
    throw new ContainerConfigError(`couldn't find key ${ref.key} in ${kind} ${ns}/${name}`);
  }
  return value;
}

export async function containerEnv(
  pod: Pod,
  container: Container,
  ctx: EnvContext,
  lookups: ObjectLookups,
): Promise<Record<string, string>> {
  const ns = pod.metadata.namespace ?? "default";
  const serviceEnv = kubernetesServiceEnv(ctx.apiserverHost, ctx.apiserverPort);
  const env: Record<string, string> = {};

  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? "";
    const data = source.configMapRef
      ? await configMapData(lookups, ns, source.configMapRef.name, source.configMapRef.optional)
      : source.secretRef
        ? await secretData(lookups, ns, source.secretRef.name, source.secretRef.optional)
        : undefined;
    for (const [k, v] of Object.entries(data ?? {})) env[prefix + k] = v;
  }

  const lookupVar = (name: string) => env[name] ?? serviceEnv[name];
  for (const v of container.env ?? []) {
    const from = v.valueFrom;
    let value: string | undefined;
    if (from?.fieldRef) {
      try {
        value = podField(pod, from.fieldRef.fieldPath, ctx);
      } catch (err) {
        throw new ContainerConfigError((err as Error).message);
      }
    } else if (from?.configMapKeyRef) {
      value = await keyRef("ConfigMap", from.configMapKeyRef, ns, lookups);
    } else if (from?.secretKeyRef) {
      value = await keyRef("Secret", from.secretKeyRef, ns, lookups);
    } else if (from?.resourceFieldRef) {
      throw new ContainerConfigError(`resourceFieldRef is not supported by the process kubelet (${v.name})`);
    } else {
      value = expand(v.value ?? "", lookupVar);
    }
    if (value !== undefined) env[v.name] = value;
  }

  for (const [k, v] of Object.entries(serviceEnv)) if (!(k in env)) env[k] = v;
  return env;
}

/** Expands $(VAR) in command and args with the container's final environment. */
export function expandArgv(argv: string[], env: Record<string, string>): string[] {
  return argv.map((arg) => expand(arg, (name) => env[name]));
}
