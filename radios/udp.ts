/**
 * The UDP radio: MQTT-SN over UDP datagrams, one datagram per frame (MQTT-SN 1.2 §7.1 leaves the
 * transport open; UDP port 10000 is what gateways and clients commonly use).
 *
 * Peers are named `udp:127.0.0.1:50123` or `udp:[::1]:50123`.
 */
import dgram from 'node:dgram';
import dns from 'node:dns';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Backoff } from '../common/backoff.js';
import { RecentMap } from '../common/recent-map.js';
import { formatUdpAddress, parseUdpAddress, type UdpEndpoint } from '../common/udp-address.js';
import { UdpPeerNames } from '../common/udp-peer-names.js';
import type { Radio, RadioSink } from './radio.js';

/** Largest UDP payload: 65535 minus the IPv4 (20) and UDP (8) headers; IPv6 has no header in the 65535. */
const MAX_UDP4_PAYLOAD = 65_507;
const MAX_UDP6_PAYLOAD = 65_527;

/**
 * Parsed addresses of the peers sent to lately, for the send path: those sent to within the last
 * this-many distinct peers stay parsed; a sensor heard from once a minute among 10,000 costs a parse
 * (well under a microsecond) instead of a cache entry for ever (about 120 bytes each; issue 13).
 */
const RECENT_ADDRESSES = 1024;

/**
 * Senders' names kept, per generation (UdpPeerNames). More than RECENT_ADDRESSES: a name costs only its
 * map slot (about 20 bytes) while its sensor's session holds the same string, and one missed costs a new
 * string, two map inserts and a fresh hash for each of the core's lookups. 10,000 sensors speaking every
 * 10 s missed every time with 1,024 (issue 13, `crowd`). Still bounded against spoofed senders.
 */
export const SENDER_NAMES_KEPT = 16_384;

/**
 * Unicast sends to a peer sent to lately are checked for errors one in this many. A send with a callback
 * costs dgram a callback deferred by a tick (a tick object, its arguments, and the tick queue's processing
 * in that turn: about 250 bytes a PUBACK, issue 13); without one, dgram drops a failure silently. So the
 * first send to a peer not sent to lately is always checked, and then one in 64: a lasting failure (no
 * route, a firewall) is still logged, at most once per 64 datagrams instead of once each.
 */
const CHECK_ONE_SEND_IN = 64;

/**
 * The socket's address resolver. dgram resolves every destination, IP literals included, through
 * dns.lookup, which answers a literal on the next tick: a tick object, its arguments and an empty result
 * object per datagram, and the send deferred a turn (issue 13: about 200 bytes of garbage per PUBACK).
 * This one answers a literal at once, the same answer dns.lookup gives; a name still goes to dns.lookup.
 */
export function lookupUdpAddress(hostname: string, family: number, callback: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  const literal = isIP(hostname);
  if (literal !== 0) callback(null, hostname, literal);
  else dns.lookup(hostname, family, callback);
}

/**
 * Multicast discovery as Paho's MQTT-SN clients use it (225.1.1.1:1883 by default): the radio joins
 * `group`, hears SEARCHGW sent there, and sends ADVERTISE/GWINFO there too.
 */
export interface UdpMulticastConfig {
  group: string;
  port: number;
  /** Hops a multicast datagram may take (IP TTL); 1 keeps it on the local network. */
  ttl: number;
  /** Local address of the interface to join on and send from; default the radio's host unless that is a wildcard. */
  interface?: string;
}

/** One `type: udp` entry of gateway.yaml's `radios:`, defaults filled in (gateway/config/config.ts reads it). */
export interface UdpRadioConfig {
  type: 'udp';
  name: string;
  /** Address to bind; 127.0.0.1 by default (localhost only, like Mosquitto 2). '::1' / '::' for IPv6. */
  host: string;
  port: number;
  /** Where ADVERTISE/GWINFO broadcasts go; 127.255.255.255 by default (loopback). */
  broadcastAddress: string;
  broadcastPort: number;
  /** Bytes of kernel receive buffer asked for (SO_RCVBUF; capped by net.core.rmem_max); 0 = the kernel's default. */
  receiveBufferSize: number;
  /** Optional multicast discovery group. */
  multicast?: UdpMulticastConfig;
}

/** How the radio makes sockets; tests hand in a recorder to check the socket options without a network. */
export type UdpSocketFactory = (options: dgram.SocketOptions) => dgram.Socket;

export class UdpRadio implements Radio {
  readonly kind = 'udp' as const;
  readonly name: string;
  readonly maxFrameSize: number;

  private readonly config: UdpRadioConfig;
  private readonly family: 'udp4' | 'udp6';
  private socket: dgram.Socket | undefined;
  /** Bound to the multicast group's address and port, joined to the group; receives only. */
  private multicastSocket: dgram.Socket | undefined;
  private readonly createSocket: UdpSocketFactory;
  private sink: RadioSink | undefined;
  private broadcastEnabled = false;
  private stopped = true;
  private readonly backoff = new Backoff();
  private readonly endpoints = new RecentMap<string, UdpEndpoint>(RECENT_ADDRESSES);
  /** Senders' names, built once per peer heard lately rather than once per datagram. */
  private readonly names = new UdpPeerNames(SENDER_NAMES_KEPT);
  /** Unicast sends to known peers since start, for CHECK_ONE_SEND_IN. */
  private sends = 0;

  constructor(config: UdpRadioConfig, createSocket: UdpSocketFactory = dgram.createSocket) {
    this.config = config;
    this.createSocket = createSocket;
    this.name = config.name;
    // isIP tries IPv4 first: net.isIPv6 alone compiles Node's IPv6 pattern, 10-20 ms of start-up for an IPv4 host.
    this.family = isIP(config.host) === 6 ? 'udp6' : 'udp4';
    this.maxFrameSize = this.family === 'udp6' ? MAX_UDP6_PAYLOAD : MAX_UDP4_PAYLOAD;
  }

  get up(): boolean {
    return this.address() !== undefined;
  }

  /** The bound port (the real one when the config said 0); 0 before the socket is listening. */
  get port(): number {
    return this.address()?.port ?? 0;
  }

  /** The bound socket address, or undefined before start / after stop. */
  address(): AddressInfo | undefined {
    try {
      return this.socket?.address();
    } catch {
      return undefined; // not bound yet
    }
  }

  /** This radio's own address string, e.g. `udp:127.0.0.1:10000`. */
  get localAddress(): string | undefined {
    const info = this.address();
    return info && formatUdpAddress(info.address, info.port);
  }

  async start(sink: RadioSink): Promise<void> {
    this.sink = sink;
    this.stopped = false;
    await this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.backoff.cancel();
    const sockets = [this.socket, this.multicastSocket];
    this.socket = undefined;
    this.multicastSocket = undefined;
    this.broadcastEnabled = false;
    await Promise.all(sockets.map((socket) => socket && new Promise<void>((resolve) => socket.close(() => resolve()))));
  }

  send(address: string, frame: Buffer): void {
    const socket = this.socket;
    if (!socket) return;
    let endpoint = this.endpoints.get(address);
    if (endpoint === undefined) {
      endpoint = parseUdpAddress(address);
      if (endpoint === undefined) {
        this.sink?.log('warn', `${this.name}: cannot send to "${address}": not a UDP address`);
        return;
      }
      this.endpoints.set(address, endpoint);
      socket.send(frame, endpoint.port, endpoint.host, this.onSent);
      return;
    }
    socket.send(frame, endpoint.port, endpoint.host, this.sends++ % CHECK_ONE_SEND_IN === 0 ? this.onSent : undefined);
  }

  broadcast(frame: Buffer): void {
    const socket = this.socket;
    if (!socket) return;
    if (!this.broadcastEnabled) {
      try {
        socket.setBroadcast(true);
      } catch (err) {
        this.sink?.log('warn', `${this.name}: cannot enable broadcast: ${(err as Error).message}`);
      }
      this.broadcastEnabled = true;
    }
    socket.send(frame, this.config.broadcastPort, this.config.broadcastAddress, this.onSent);
    const multicast = this.config.multicast;
    // Sent from the unicast socket, so clients learn the address:port they are to CONNECT to.
    if (multicast && this.multicastSocket) socket.send(frame, multicast.port, multicast.group, this.onSent);
  }

  /** The interface multicast is joined on and sent from: the configured one, else a specific bound host. */
  private multicastInterface(): string | undefined {
    const configured = this.config.multicast?.interface;
    if (configured !== undefined) return configured;
    const host = this.config.host;
    return host === '0.0.0.0' || host === '::' ? undefined : host;
  }

  /**
   * Joins the multicast group on a second socket bound to the group's address (so it hears only the
   * group, not unicast to that port). A failure is logged and leaves unicast and broadcast working.
   */
  private async openMulticast(unicast: dgram.Socket, multicast: UdpMulticastConfig): Promise<void> {
    const where = formatUdpAddress(multicast.group, multicast.port);
    const iface = this.multicastInterface();
    const socket = this.createSocket({ type: this.family, reuseAddr: true, lookup: lookupUdpAddress as dgram.SocketOptions['lookup'] });
    try {
      unicast.setMulticastTTL(multicast.ttl);
      if (iface !== undefined) unicast.setMulticastInterface(iface);
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(multicast.port, multicast.group, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      socket.addMembership(multicast.group, iface);
    } catch (err) {
      socket.close();
      this.sink?.log('error', `${this.name}: cannot join multicast ${where}${iface ? ` on ${iface}` : ''}: ${(err as Error).message}; discovery by multicast is off`);
      return;
    }
    socket.on('message', this.onMessage);
    socket.on('error', this.onError);
    this.multicastSocket = socket;
    this.sink?.log('info', `${this.name}: joined multicast ${where}${iface ? ` on ${iface}` : ''}`);
  }

  /**
   * A burst of datagrams beyond the receive buffer is dropped by the kernel before the gateway sees it;
   * the default (~200 KB, a few hundred frames) loses QoS 0 traffic at tens of thousands of frames/s.
   */
  private sizeReceiveBuffer(socket: dgram.Socket): void {
    const wanted = this.config.receiveBufferSize;
    if (!wanted) return;
    try {
      socket.setRecvBufferSize(wanted);
      // Linux reports double what it granted, and caps silently at net.core.rmem_max.
      const granted = socket.getRecvBufferSize() / 2;
      if (granted < wanted) {
        this.sink?.log('info', `${this.name}: UDP receive buffer is ${granted} bytes (asked ${wanted}); raise net.core.rmem_max for more`);
      }
    } catch (err) {
      this.sink?.log('warn', `${this.name}: cannot set the UDP receive buffer to ${wanted} bytes: ${(err as Error).message}`);
    }
  }

  /** Binds a fresh socket; on failure logs one line and retries with backoff, resolving either way. */
  private async open(): Promise<void> {
    const socket = this.createSocket({ type: this.family, lookup: lookupUdpAddress as dgram.SocketOptions['lookup'] });
    const { host, port } = this.config;
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, host, () => {
          socket.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      socket.close();
      if (this.stopped) return;
      const delay = this.backoff.schedule(() => void this.open());
      this.sink?.log('error', `${this.name}: cannot listen on ${formatUdpAddress(host, port)}: ${(err as Error).message}; retrying in ${Math.round(delay / 1000)} s`);
      return;
    }
    if (this.stopped) {
      socket.close();
      return;
    }
    this.backoff.reset();
    this.sizeReceiveBuffer(socket);
    socket.on('message', this.onMessage);
    socket.on('error', this.onError);
    this.socket = socket;
    this.sink?.log('info', `${this.name}: listening on ${this.localAddress}`);
    if (this.config.multicast) await this.openMulticast(socket, this.config.multicast);
    if (this.stopped) await this.stop();
  }

  // Handlers are fields created once, so the per-datagram path allocates no closures.
  private readonly onMessage = (frame: Buffer, rinfo: dgram.RemoteInfo): void => {
    this.sink?.frame(this, this.names.name(rinfo.address, rinfo.port), frame);
  };

  private readonly onSent = (err: Error | null): void => {
    if (err) this.sink?.log('warn', `${this.name}: send failed: ${err.message}`);
  };

  private readonly onError = (err: Error): void => {
    this.sink?.log('warn', `${this.name}: socket error: ${err.message}`);
  };
}
