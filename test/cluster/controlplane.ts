// etcd, kube-apiserver, kube-controller-manager and kube-scheduler, with free
// ports and a fresh data dir. All but the apiserver listen on loopback only;
// the apiserver serves on every address, as a real one does, so the pods of
// the real node (test/realnode/, on their own bridge) reach it through the
// `kubernetes` Service, whose endpoint is this machine's own address. Flags are the ones a real
// cluster would use, with monitoring periods shortened so node loss and
// taint-based eviction happen in seconds instead of minutes.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "node:https";
import { networkInterfaces } from "node:os";
import { readFileSync } from "node:fs";
import type { Binary } from "./binaries.js";
import { createPki, type Pki } from "./pki.js";
import { writeKubeconfig } from "./kubeconfig.js";
import { freePort, isAlive, startDetached, type Started } from "./processes.js";

export interface ControlPlane {
  server: string;
  pki: Pki;
  adminKubeconfig: string;
  processes: Started[];
}

/** Seconds a pod tolerates a NotReady/unreachable node before taint-based eviction (upstream default 300). */
export const TOLERATION_SECONDS = 10;
/** How long the node lifecycle controller waits for a heartbeat before marking a node unhealthy (upstream 50s). */
export const NODE_MONITOR_GRACE_SECONDS = 10;

export async function startControlPlane(bin: string, stateDir: string): Promise<ControlPlane> {
  const logs = join(stateDir, "logs");
  mkdirSync(logs, { recursive: true });
  const hostIp = machineAddress();
  const pki = createPki(join(stateDir, "pki"), hostIp ? [hostIp] : []);
  const [etcdClient, etcdPeer, apiPort, kcmPort, schedPort] = await Promise.all([
    freePort(), freePort(), freePort(), freePort(), freePort(),
  ]);
  const server = `https://127.0.0.1:${apiPort}`;
  const processes: Started[] = [];
  const start = (name: Binary, args: string[]) => {
    const p = startDetached(name, join(bin, name), args, join(logs, `${name}.log`));
    processes.push(p);
    return p;
  };

  try {
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    start("etcd", [
      "--name=local", `--data-dir=${join(stateDir, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`, `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`, `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=local=http://127.0.0.1:${etcdPeer}`,
      // A test cluster's data is thrown away: skip fsync so etcd doesn't
      // compete with the checkpoints the tests measure for the disk.
      "--unsafe-no-fsync", "--log-level=warn",
    ]);

    const api = start("kube-apiserver", [
      `--etcd-servers=${etcdUrl}`,
      // Host processes (the process kubelet's pods among them) dial 127.0.0.1;
      // containers of the real node dial the `kubernetes` Service's endpoint.
      "--bind-address=0.0.0.0", `--advertise-address=${hostIp ?? "127.0.0.1"}`, `--secure-port=${apiPort}`,
      `--tls-cert-file=${pki.servingCert}`, `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`, `--token-auth-file=${pki.tokenFile}`,
      // Published in extension-apiserver-authentication; without it every
      // component logs a missing-CA error once a second.
      `--requestheader-client-ca-file=${pki.caCert}`, "--requestheader-username-headers=X-Remote-User",
      "--requestheader-group-headers=X-Remote-Group", "--requestheader-extra-headers-prefix=X-Remote-Extra-",
      "--authorization-mode=Node,RBAC",
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
      "--service-cluster-ip-range=10.0.0.0/24",
      "--allow-privileged=true",
      `--default-not-ready-toleration-seconds=${TOLERATION_SECONDS}`,
      `--default-unreachable-toleration-seconds=${TOLERATION_SECONDS}`,
      "--profiling=false", "--v=1",
    ]);
    await waitReady(server, pki.caCert, pki.admin.token, api);

    const adminKubeconfig = join(stateDir, "admin.kubeconfig");
    writeKubeconfig(adminKubeconfig, server, pki.caCert, pki.admin.user, pki.admin.token);
    const kcmKubeconfig = join(stateDir, "controller-manager.kubeconfig");
    writeKubeconfig(kcmKubeconfig, server, pki.caCert, pki.controllerManager.user, pki.controllerManager.token);
    const schedKubeconfig = join(stateDir, "scheduler.kubeconfig");
    writeKubeconfig(schedKubeconfig, server, pki.caCert, pki.scheduler.user, pki.scheduler.token);

    start("kube-controller-manager", [
      `--kubeconfig=${kcmKubeconfig}`, `--authentication-kubeconfig=${kcmKubeconfig}`,
      `--authorization-kubeconfig=${kcmKubeconfig}`,
      "--bind-address=127.0.0.1", `--secure-port=${kcmPort}`,
      "--leader-elect=false", "--use-service-account-credentials=true",
      `--service-account-private-key-file=${pki.serviceAccountKey}`, `--root-ca-file=${pki.caCert}`,
      "--node-monitor-period=2s", `--node-monitor-grace-period=${NODE_MONITOR_GRACE_SECONDS}s`,
      "--controllers=*", "--v=1",
    ]);
    start("kube-scheduler", [
      `--kubeconfig=${schedKubeconfig}`, `--authentication-kubeconfig=${schedKubeconfig}`,
      `--authorization-kubeconfig=${schedKubeconfig}`,
      "--bind-address=127.0.0.1", `--secure-port=${schedPort}`, "--leader-elect=false", "--v=1",
    ]);
    return { server, pki, adminKubeconfig, processes };
  } catch (err) {
    (err as Error & { processes?: Started[] }).processes = processes;
    throw err;
  }
}

/**
 * The machine's own IPv4 address (the one a real kubelet reports as its node's
 * InternalIP), skipping the real node's pod bridge; undefined on a machine
 * with loopback only.
 */
export function machineAddress(): string | undefined {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (name.startsWith("rsm-") || name.startsWith("docker") || name.startsWith("veth")) continue;
    const v4 = addrs?.find((a) => a.family === "IPv4" && !a.internal);
    if (v4) return v4.address;
  }
  return undefined;
}

function getStatus(url: string, ca: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { ca: readFileSync(ca), headers: { authorization: `Bearer ${token}` }, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("error", () => resolve(0));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

async function waitReady(server: string, ca: string, token: string, api: Started): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if ((await getStatus(`${server}/readyz`, ca, token)) === 200) return;
    if (!isAlive(api.pid)) throw new Error(`kube-apiserver exited during start-up; see ${api.log}`);
    await sleep(250);
  }
  throw new Error(`kube-apiserver not ready after 120 s; see ${api.log}`);
}
