// Pod IPs: each pod gets its own loopback address from 127.1.0.0/16 (all of
// 127/8 reaches lo on Linux), so two pods can listen on the same port, each
// on its podIP, as in a cluster network.

export class PodIpPool {
  private readonly byPod = new Map<string, string>();
  private readonly inUse = new Set<string>();
  private next = 2;

  /** The pod's address; the same one each time for the same uid. */
  allocate(uid: string): string {
    const existing = this.byPod.get(uid);
    if (existing) return existing;
    for (let tries = 0; tries < 65_000; tries++) {
      const n = this.next;
      this.next = n >= 65_533 ? 2 : n + 1;
      const ip = `127.1.${n >> 8}.${n & 255}`;
      if (n % 256 === 0 || n % 256 === 255 || this.inUse.has(ip)) continue;
      this.inUse.add(ip);
      this.byPod.set(uid, ip);
      return ip;
    }
    throw new Error("no free pod IP in 127.1.0.0/16");
  }

  release(uid: string): void {
    const ip = this.byPod.get(uid);
    if (!ip) return;
    this.inUse.delete(ip);
    this.byPod.delete(uid);
  }
}
