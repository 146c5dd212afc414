/**
 * The names of UDP peers heard lately (`udp:127.0.0.1:50123`), by host and port, so that a datagram from
 * a known peer costs no new string: the UDP radio would otherwise build its sender's name for every
 * datagram, and the core then hashes that fresh string for each lookup (issue 13: allocation per QoS 1
 * message). The same string object comes back each time, the one a session's link holds.
 *
 * Bounded like RecentMap: two generations of at most `capacity` names each; a name not asked for in
 * `capacity` new names is dropped (and simply built again when that peer speaks).
 */
import { formatUdpAddress } from './udp-address.js';

export class UdpPeerNames {
  private current = new Map<string, Map<number, string>>();
  private previous = new Map<string, Map<number, string>>();
  private count = 0;
  /** Names built so far: one per peer while it is kept, one more each time it was forgotten (for tests). */
  built = 0;

  constructor(private readonly capacity: number) {}

  /** `udp:<host>:<port>` (or `udp:[<host>]:<port>` for IPv6), the same string object for a peer while it is kept. */
  name(host: string, port: number): string {
    const known = this.current.get(host)?.get(port);
    if (known !== undefined) return known;
    let name = this.previous.get(host)?.get(port);
    if (name === undefined) {
      name = formatUdpAddress(host, port);
      this.built++;
    }
    if (this.count >= this.capacity) {
      this.previous = this.current;
      this.current = new Map();
      this.count = 0;
    }
    let ports = this.current.get(host);
    if (ports === undefined) this.current.set(host, (ports = new Map()));
    ports.set(port, name);
    this.count++;
    return name;
  }

  /** Names held now (both generations; a peer moved forward counts in both until the older one goes). */
  get size(): number {
    let n = 0;
    for (const generation of [this.current, this.previous]) for (const ports of generation.values()) n += ports.size;
    return n;
  }
}
