/**
 * The UDP radio's multicast discovery (Paho's 225.1.1.1:1883), checked on the socket options it sets:
 * sockets here are recorders, so nothing is sent on this machine's interfaces. On the wire, inside a
 * network namespace of its own: test/e2e/13-discovery-multicast.test.ts.
 */
import { EventEmitter } from 'node:events';
import type dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import type { Radio } from '../../radios/radio.js';
import { UdpRadio, type UdpRadioConfig } from '../../radios/udp.js';

interface Call { name: string; args: unknown[] }

/** A dgram socket stand-in that records every call and binds at once (or fails to, when told). */
class RecordingSocket extends EventEmitter {
  readonly calls: Call[] = [];
  private bound: { address: string; port: number } | undefined;
  constructor(readonly options: dgram.SocketOptions, private readonly bindError?: Error) {
    super();
  }
  private record(name: string, args: unknown[]): void {
    this.calls.push({ name, args });
  }
  bind(port: number, address: string, done: () => void): this {
    this.record('bind', [port, address]);
    setImmediate(() => {
      if (this.bindError) this.emit('error', this.bindError);
      else {
        this.bound = { address, port: port || 40_000 };
        done();
      }
    });
    return this;
  }
  address() {
    if (!this.bound) throw new Error('not bound');
    return { ...this.bound, family: 'IPv4' };
  }
  send(frame: Buffer, port: number, address: string): void {
    this.record('send', [frame.toString('hex'), port, address]);
  }
  close(done?: () => void): this {
    this.record('close', []);
    setImmediate(() => done?.());
    return this;
  }
  setMulticastTTL(ttl: number) { this.record('setMulticastTTL', [ttl]); return ttl; }
  setMulticastInterface(iface: string) { this.record('setMulticastInterface', [iface]); }
  addMembership(group: string, iface?: string) { this.record('addMembership', [group, iface]); }
  setBroadcast(on: boolean) { this.record('setBroadcast', [on]); }
  setRecvBufferSize(size: number) { this.record('setRecvBufferSize', [size]); }
  getRecvBufferSize() { return 8_388_608; }
}

function recordingRadio(config: Partial<UdpRadioConfig>, failMulticastBind = false) {
  const sockets: RecordingSocket[] = [];
  const factory = (options: dgram.SocketOptions) => {
    const multicast = sockets.length === 1;
    const socket = new RecordingSocket(options, multicast && failMulticastBind ? new Error('EADDRNOTAVAIL') : undefined);
    sockets.push(socket);
    return socket as unknown as dgram.Socket;
  };
  const radio = new UdpRadio({
    type: 'udp', name: 'udp0', host: '127.0.0.1', port: 10000, broadcastAddress: '127.255.255.255', broadcastPort: 10000,
    receiveBufferSize: 0, ...config,
  }, factory);
  const frames: [string, string][] = [];
  const logs: string[] = [];
  const sink = {
    frame: (_radio: Radio, address: string, frame: Buffer) => { frames.push([address, frame.toString('hex')]); },
    log: (level: string, message: string) => { logs.push(`${level} ${message}`); },
  };
  return { radio, sockets, frames, logs, sink };
}

const names = (s: RecordingSocket) => s.calls.map((c) => c.name);

describe('UDP radio multicast (§6.1 discovery as Paho clients do it)', () => {
  it('§6.1 joins the group on a second socket bound to the group address and port, reusable by other listeners', async () => {
    const { radio, sockets, sink } = recordingRadio({ multicast: { group: '225.1.1.1', port: 1883, ttl: 1, interface: '127.0.0.1' } });
    await radio.start(sink);
    expect(sockets).toHaveLength(2);
    const [, group] = sockets;
    expect(group.options).toMatchObject({ type: 'udp4', reuseAddr: true });
    expect(group.calls.filter((c) => c.name === 'bind' || c.name === 'addMembership')).toEqual([
      { name: 'bind', args: [1883, '225.1.1.1'] },
      { name: 'addMembership', args: ['225.1.1.1', '127.0.0.1'] },
    ]);
    await radio.stop();
  });

  it('§6.1 the unicast socket sends multicast with the configured TTL, out of the configured interface', async () => {
    const { radio, sockets, sink } = recordingRadio({ multicast: { group: '239.9.9.9', port: 5000, ttl: 4, interface: '10.1.2.3' } });
    await radio.start(sink);
    const [unicast] = sockets;
    expect(unicast.calls.filter((c) => c.name.startsWith('setMulticast'))).toEqual([
      { name: 'setMulticastTTL', args: [4] },
      { name: 'setMulticastInterface', args: ['10.1.2.3'] },
    ]);
    await radio.stop();
  });

  it('§6.1 without an interface, a specific host is the interface; a wildcard host leaves it to the kernel', async () => {
    const specific = recordingRadio({ host: '127.0.0.1', multicast: { group: '225.1.1.1', port: 1883, ttl: 1 } });
    await specific.radio.start(specific.sink);
    expect(specific.sockets[1].calls.find((c) => c.name === 'addMembership')?.args).toEqual(['225.1.1.1', '127.0.0.1']);
    await specific.radio.stop();
    const wildcard = recordingRadio({ host: '0.0.0.0', multicast: { group: '225.1.1.1', port: 1883, ttl: 1 } });
    await wildcard.radio.start(wildcard.sink);
    expect(names(wildcard.sockets[0])).not.toContain('setMulticastInterface');
    expect(wildcard.sockets[1].calls.find((c) => c.name === 'addMembership')?.args).toEqual(['225.1.1.1', undefined]);
    await wildcard.radio.stop();
  });

  it('§6.1 broadcast() (ADVERTISE, GWINFO) goes to the broadcast address and to the group, both from the unicast socket', async () => {
    const { radio, sockets, sink } = recordingRadio({ multicast: { group: '225.1.1.1', port: 1883, ttl: 1 } });
    await radio.start(sink);
    radio.broadcast(Buffer.from([0x03, 0x02, 0x07]));
    expect(sockets[0].calls.filter((c) => c.name === 'send').map((c) => c.args)).toEqual([
      ['030207', 10000, '127.255.255.255'],
      ['030207', 1883, '225.1.1.1'],
    ]);
    expect(names(sockets[1])).not.toContain('send');
    await radio.stop();
  });

  it('§6.1 a SEARCHGW heard on the group reaches the gateway with the sender\'s address', async () => {
    const { radio, sockets, frames, sink } = recordingRadio({ multicast: { group: '225.1.1.1', port: 1883, ttl: 1 } });
    await radio.start(sink);
    sockets[1].emit('message', Buffer.from([0x03, 0x01, 0x00]), { address: '127.0.0.5', port: 40001, family: 'IPv4', size: 3 });
    expect(frames).toEqual([['udp:127.0.0.5:40001', '030100']]);
    await radio.stop();
    expect(names(sockets[1])).toContain('close');
  });

  it('§6.1 a group that cannot be joined is logged once; unicast and broadcast carry on without it', async () => {
    const { radio, sockets, logs, sink } = recordingRadio({ multicast: { group: '225.1.1.1', port: 1883, ttl: 1 } }, true);
    await radio.start(sink);
    expect(logs.filter((l) => l.startsWith('error'))).toEqual([
      'error udp0: cannot join multicast udp:225.1.1.1:1883 on 127.0.0.1: EADDRNOTAVAIL; discovery by multicast is off',
    ]);
    radio.broadcast(Buffer.from([0x03, 0x02, 0x07]));
    expect(sockets[0].calls.filter((c) => c.name === 'send').map((c) => c.args)).toEqual([['030207', 10000, '127.255.255.255']]);
    await radio.stop();
  });

  it('no multicast key: one socket, no multicast options', async () => {
    const { radio, sockets, sink } = recordingRadio({});
    await radio.start(sink);
    expect(sockets).toHaveLength(1);
    expect(names(sockets[0]).filter((n) => n.includes('Multicast') || n === 'addMembership')).toEqual([]);
    await radio.stop();
  });
});
