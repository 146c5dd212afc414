/**
 * Gateway discovery from the client side (§6.1): send SEARCHGW to an address (a gateway, a broadcast
 * address, or a multicast group such as Paho's 225.1.1.1:1883) and collect every GWINFO and ADVERTISE
 * that comes back, with the address it came from: the address to CONNECT to (a gateway sends no GwAdd).
 */
import dgram from 'node:dgram';
import { isIP } from 'node:net';
import { decode, encode, SnCodecError } from '../sn-codec/index.js';

export interface FoundGateway {
  gwId: number;
  /** Where the answer came from: the gateway's own MQTT-SN endpoint. */
  host: string;
  port: number;
  /** Which message announced it. */
  via: 'GWINFO' | 'ADVERTISE';
  /** ADVERTISE only: seconds until the next one. */
  duration?: number;
}

export interface SearchOptions {
  /** Where SEARCHGW goes. */
  to: { host: string; port: number };
  /** SEARCHGW Radius (§5.4.2); default 1. */
  radius?: number;
  /** Stop listening after this long. Default 3000 ms. */
  timeoutMs?: number;
  /** Stop as soon as this many distinct answers are in (e.g. 1 for "the first gateway"). */
  count?: number;
  /** Local address to bind; default 0.0.0.0 (127.0.0.1 when searching on loopback). */
  bindHost?: string;
  /** Multicast only: hops (IP TTL, default 1) and the local interface address to send from. */
  ttl?: number;
  multicastInterface?: string;
  /** Called for each distinct answer as it arrives. */
  onFound?: (gateway: FoundGateway) => void;
}

function isMulticast(host: string): boolean {
  if (isIP(host) === 4) {
    const first = Number(host.split('.')[0]);
    return first >= 224 && first <= 239;
  }
  return isIP(host) === 6 && /^ff/i.test(host);
}

/**
 * Sends one SEARCHGW and resolves with the distinct answers heard (the same gateway heard by broadcast
 * and by unicast counts once). Resolves with an empty list when nobody answers in time.
 */
export async function searchGateways(options: SearchOptions): Promise<FoundGateway[]> {
  const { to } = options;
  const v6 = isIP(to.host) === 6;
  const loopback = v6 ? to.host === '::1' : to.host.startsWith('127.');
  const socket = dgram.createSocket(v6 ? 'udp6' : 'udp4');
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, options.bindHost ?? (loopback ? (v6 ? '::1' : '127.0.0.1') : undefined), () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const found: FoundGateway[] = [];
  const seen = new Set<string>();
  try {
    if (isMulticast(to.host)) {
      socket.setMulticastTTL(options.ttl ?? 1);
      if (options.multicastInterface) socket.setMulticastInterface(options.multicastInterface);
    } else {
      socket.setBroadcast(true); // `to` may be a broadcast address; harmless for unicast
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, options.timeoutMs ?? 3000);
      const finish = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.on('message', (frame, rinfo) => {
        let message;
        try {
          message = decode(frame);
        } catch (err) {
          if (err instanceof SnCodecError) return; // not MQTT-SN: someone else's traffic
          throw err;
        }
        if (message.type !== 'GWINFO' && message.type !== 'ADVERTISE') return;
        const key = `${message.type} ${message.gwId} ${rinfo.address} ${rinfo.port}`;
        if (seen.has(key)) return;
        seen.add(key);
        const gateway: FoundGateway = { gwId: message.gwId, host: rinfo.address, port: rinfo.port, via: message.type };
        if (message.type === 'ADVERTISE') gateway.duration = message.duration;
        found.push(gateway);
        options.onFound?.(gateway);
        if (options.count !== undefined && found.length >= options.count) finish();
      });
      socket.send(encode({ type: 'SEARCHGW', radius: options.radius ?? 1 }), to.port, to.host, (err) => {
        if (err) {
          clearTimeout(timer);
          reject(new Error(`cannot send SEARCHGW to ${to.host}:${to.port}: ${err.message}`));
        }
      });
    });
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
  return found;
}
