/**
 * The UDP radio: MQTT-SN over UDP datagrams, one datagram per frame (MQTT-SN 1.2 §7.1 leaves the
 * transport open; UDP port 10000 is what gateways and clients commonly use).
 *
 * Peers are named `udp:127.0.0.1:50123` or `udp:[::1]:50123`.
 */
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Backoff } from '../common/backoff.js';
import { formatUdpAddress, parseUdpAddress, type UdpEndpoint } from '../common/udp-address.js';
import type { Radio, RadioSink } from './radio.js';

/** Largest UDP payload: 65535 minus the IPv4 (20) and UDP (8) headers; IPv6 has no header in the 65535. */
const MAX_UDP4_PAYLOAD = 65_507;
const MAX_UDP6_PAYLOAD = 65_527;

/** Parsed addresses are cached for the send path; past this many the cache starts over (spoofed sources). */
const ADDRESS_CACHE_LIMIT = 100_000;

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
}

export class UdpRadio implements Radio {
  readonly kind = 'udp' as const;
  readonly name: string;
  readonly maxFrameSize: number;

  private readonly config: UdpRadioConfig;
  private readonly family: 'udp4' | 'udp6';
  private socket: dgram.Socket | undefined;
  private sink: RadioSink | undefined;
  private broadcastEnabled = false;
  private stopped = true;
  private readonly backoff = new Backoff();
  private readonly endpoints = new Map<string, UdpEndpoint>();

  constructor(config: UdpRadioConfig) {
    this.config = config;
    this.name = config.name;
    this.family = isIPv6(config.host) ? 'udp6' : 'udp4';
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
    const socket = this.socket;
    this.socket = undefined;
    this.broadcastEnabled = false;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
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
      if (this.endpoints.size >= ADDRESS_CACHE_LIMIT) this.endpoints.clear();
      this.endpoints.set(address, endpoint);
    }
    socket.send(frame, endpoint.port, endpoint.host, this.onSent);
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
    const socket = dgram.createSocket({ type: this.family });
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
  }

  // Handlers are fields created once, so the per-datagram path allocates no closures.
  private readonly onMessage = (frame: Buffer, rinfo: dgram.RemoteInfo): void => {
    const address = rinfo.family === 'IPv6' ? `udp:[${rinfo.address}]:${rinfo.port}` : `udp:${rinfo.address}:${rinfo.port}`;
    this.sink?.frame(this, address, frame);
  };

  private readonly onSent = (err: Error | null): void => {
    if (err) this.sink?.log('warn', `${this.name}: send failed: ${err.message}`);
  };

  private readonly onError = (err: Error): void => {
    this.sink?.log('warn', `${this.name}: socket error: ${err.message}`);
  };
}
