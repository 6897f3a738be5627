// Pod IPs: each pod gets its own loopback address from 127.X.0.0/16 (all of
// 127/8 reaches lo on Linux; X is the cluster's own, pod-network.ts), so two
// pods can listen on the same port, each on its podIP, as in a cluster network.

export class PodIpPool {
  private readonly byPod = new Map<string, string>();
  private readonly inUse = new Set<string>();
  private next = 2;

  /** @param heldElsewhere whether an address is still another pod's in the API (from an earlier kubelet run) */
  constructor(
    private readonly heldElsewhere: (ip: string, uid: string) => boolean,
    /** X in 127.X.0.0/16 (claimPodNetwork). */
    private readonly octet = 1,
  ) {}

  /**
   * The pod's address; the same one each time for the same uid. A pod that
   * already has one in its status (it ran under an earlier kubelet) keeps
   * it: the apiserver refuses a second IP of the same family.
   */
  allocate(uid: string, current?: string): string {
    const existing = this.byPod.get(uid);
    if (existing) return existing;
    if (current && !this.inUse.has(current)) return this.take(uid, current);
    for (let tries = 0; tries < 65_000; tries++) {
      const n = this.next;
      this.next = n >= 65_533 ? 2 : n + 1;
      const ip = `127.${this.octet}.${n >> 8}.${n & 255}`;
      if (n % 256 === 0 || n % 256 === 255 || this.inUse.has(ip) || this.heldElsewhere(ip, uid)) continue;
      return this.take(uid, ip);
    }
    throw new Error(`no free pod IP in 127.${this.octet}.0.0/16`);
  }

  private take(uid: string, ip: string): string {
    this.inUse.add(ip);
    this.byPod.set(uid, ip);
    return ip;
  }

  release(uid: string): void {
    const ip = this.byPod.get(uid);
    if (!ip) return;
    this.inUse.delete(ip);
    this.byPod.delete(uid);
  }
}
