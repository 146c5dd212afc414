import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { describe, expect, it, vi } from 'vitest';
import type { UdpRadioConfig } from '../../radios/udp.js';
import type { LogLevel, Radio, RadioSink } from '../../radios/radio.js';
import { lookupUdpAddress, UdpRadio } from '../../radios/udp.js';
import { formatUdpAddress, parseUdpAddress } from '../../common/udp-address.js';
import { WAIT } from '../support/wait.js';
import { cleanupsAfterEach } from '../support/cleanups.js';

interface Received { address: string; frame: Buffer }

/** A sink that records frames and log lines, and lets a test wait for the next frame. */
class RecordingSink implements RadioSink {
  readonly frames: Received[] = [];
  readonly logs: { level: LogLevel; message: string }[] = [];
  private waiters: ((r: Received) => void)[] = [];

  frame(_radio: Radio, address: string, frame: Buffer): void {
    const received = { address, frame: Buffer.from(frame) };
    const waiter = this.waiters.shift();
    if (waiter) waiter(received);
    else this.frames.push(received);
  }

  log(level: LogLevel, message: string): void {
    this.logs.push({ level, message });
  }

  nextFrame(): Promise<Received> {
    const queued = this.frames.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

function udpConfig(overrides: Partial<UdpRadioConfig> = {}): UdpRadioConfig {
  return { type: 'udp', name: 'udp0', host: '127.0.0.1', port: 0, broadcastAddress: '127.255.255.255', broadcastPort: 10000, receiveBufferSize: 0, ...overrides };
}

const cleanups = cleanupsAfterEach();

async function startRadio(config: UdpRadioConfig): Promise<{ radio: UdpRadio; sink: RecordingSink }> {
  const radio = new UdpRadio(config);
  const sink = new RecordingSink();
  await radio.start(sink);
  cleanups.push(() => radio.stop());
  return { radio, sink };
}

async function openSocket(type: 'udp4' | 'udp6', host: string, port = 0): Promise<dgram.Socket> {
  const socket = dgram.createSocket(type);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => resolve());
  });
  cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return socket;
}

function nextDatagram(socket: dgram.Socket): Promise<{ data: Buffer; from: dgram.RemoteInfo }> {
  return new Promise((resolve) => socket.once('message', (data, from) => resolve({ data, from })));
}

const hasIPv6Loopback = Object.values(networkInterfaces()).some((addresses) =>
  addresses?.some((a) => a.family === 'IPv6' && a.address === '::1'),
);

describe('address strings', () => {
  it('round-trip IPv4 and IPv6 addresses', () => {
    expect(formatUdpAddress('127.0.0.1', 50123)).toBe('udp:127.0.0.1:50123');
    expect(formatUdpAddress('::1', 50123)).toBe('udp:[::1]:50123');
    expect(parseUdpAddress('udp:127.0.0.1:50123')).toEqual({ host: '127.0.0.1', port: 50123 });
    expect(parseUdpAddress('udp:[::1]:50123')).toEqual({ host: '::1', port: 50123 });
    expect(parseUdpAddress('udp:[::ffff:127.0.0.1]:7')).toEqual({ host: '::ffff:127.0.0.1', port: 7 });
  });

  it('refuse what is not a UDP address', () => {
    for (const bad of ['xbee:0013a20040a1b2c3', 'udp:127.0.0.1', 'udp::1:5', 'udp:[::1]5', 'udp:127.0.0.1:0', 'udp:127.0.0.1:70000', 'udp:1.2.3.4:x']) {
      expect(parseUdpAddress(bad), bad).toBeUndefined();
    }
  });
});

describe('UdpRadio on 127.0.0.1', () => {
  it('reports its kind, name, UDP payload limit and the real port when bound to port 0', async () => {
    const { radio } = await startRadio(udpConfig());
    expect(radio.kind).toBe('udp');
    expect(radio.name).toBe('udp0');
    expect(radio.maxFrameSize).toBe(65_507);
    expect(radio.port).toBeGreaterThan(0);
    expect(radio.localAddress).toBe(`udp:127.0.0.1:${radio.port}`);
  });

  it('hands each datagram to the sink as one frame with the sender address', async () => {
    const { radio, sink } = await startRadio(udpConfig());
    const sensor = await openSocket('udp4', '127.0.0.1');
    sensor.send(Buffer.from([0x02, 0x16]), radio.port, '127.0.0.1');
    sensor.send(Buffer.from([0x03, 0x18, 0x00]), radio.port, '127.0.0.1');
    const first = await sink.nextFrame();
    const second = await sink.nextFrame();
    const sensorAddress = `udp:127.0.0.1:${sensor.address().port}`;
    expect(first).toEqual({ address: sensorAddress, frame: Buffer.from([0x02, 0x16]) });
    expect(second).toEqual({ address: sensorAddress, frame: Buffer.from([0x03, 0x18, 0x00]) });
  });

  it('send() delivers to the address the frame came from', async () => {
    const { radio, sink } = await startRadio(udpConfig());
    const sensor = await openSocket('udp4', '127.0.0.1');
    sensor.send(Buffer.from([0x02, 0x16]), radio.port, '127.0.0.1');
    const { address } = await sink.nextFrame();

    const reply = nextDatagram(sensor);
    radio.send(address, Buffer.from([0x02, 0x17]));
    const { data, from } = await reply;
    expect(data).toEqual(Buffer.from([0x02, 0x17]));
    expect(from.port).toBe(radio.port);

    // A second send to the same address takes the cached path and still arrives.
    const again = nextDatagram(sensor);
    radio.send(address, Buffer.from([0x03, 0x18, 0x00]));
    expect((await again).data).toEqual(Buffer.from([0x03, 0x18, 0x00]));
  });

  it('a send that fails is logged the first time, then one datagram in 64, not once per datagram (issue 13)', async () => {
    const { radio, sink } = await startRadio(udpConfig());
    // Broadcast is not enabled on the socket, so the kernel refuses these at once (EACCES).
    for (let i = 0; i < 200; i++) radio.send('udp:127.255.255.255:9', Buffer.from([0x02, 0x16]));
    // A peer not sent to before is always checked; its failure is reported after the ones before it.
    radio.send('udp:255.255.255.255:9', Buffer.from([0x02, 0x16]));
    await vi.waitFor(() => expect(sink.logs.some((l) => l.message.includes('255.255.255.255:9') && !l.message.includes('127.'))).toBe(true), WAIT);
    const failures = sink.logs.filter((l) => l.level === 'warn' && l.message.includes('127.255.255.255:9'));
    expect(failures[0]!.message).toMatch(/^udp0: send failed: .*EACCES/);
    expect(failures).toHaveLength(5); // the first (a peer new to the radio), then sends 2, 66, 130 and 194 of the 200
  });

  it('resolves an IP literal destination at once, without a tick (issue 13), and a name through DNS', async () => {
    let answered: [string, number] | undefined;
    lookupUdpAddress('127.0.0.1', 4, (err, address, family) => { answered = [address, family]; });
    expect(answered).toEqual(['127.0.0.1', 4]);
    lookupUdpAddress('::1', 6, (err, address, family) => { answered = [address, family]; });
    expect(answered).toEqual(['::1', 6]);
    const byName = await new Promise<[Error | null, string]>((resolve) => lookupUdpAddress('localhost', 4, (err, address) => resolve([err, address])));
    expect(byName).toEqual([null, '127.0.0.1']);
  });

  it('its socket resolves destinations with that lookup, and a broadcast address given as a name still arrives', async () => {
    const listener = await openSocket('udp4', '127.0.0.1');
    const options: dgram.SocketOptions[] = [];
    const radio = new UdpRadio(udpConfig({ broadcastAddress: 'localhost', broadcastPort: listener.address().port }), (o) => {
      options.push(o);
      return dgram.createSocket(o);
    });
    await radio.start(new RecordingSink());
    cleanups.push(() => radio.stop());
    expect(options[0]?.lookup).toBe(lookupUdpAddress);
    const heard = nextDatagram(listener);
    radio.broadcast(Buffer.from([0x02, 0x01]));
    expect((await heard).data).toEqual(Buffer.from([0x02, 0x01]));
  });

  it('broadcast() reaches a listener on the loopback broadcast address 127.255.255.255', async () => {
    // Linux delivers 127.255.255.255 to sockets bound to that address (not to ones bound to 127.0.0.1).
    const listener = await openSocket('udp4', '127.255.255.255');
    const { radio } = await startRadio(udpConfig({ broadcastAddress: '127.255.255.255', broadcastPort: listener.address().port }));
    const heard = nextDatagram(listener);
    radio.broadcast(Buffer.from([0x05, 0x00, 0x01, 0x03, 0x84]));
    const { data, from } = await heard;
    expect(data).toEqual(Buffer.from([0x05, 0x00, 0x01, 0x03, 0x84]));
    expect(from.port).toBe(radio.port);
  });

  it('an unparseable address is one log line, not a throw', async () => {
    const { radio, sink } = await startRadio(udpConfig());
    expect(() => radio.send('serial:/dev/ttyACM0', Buffer.from([0x02, 0x17]))).not.toThrow();
    expect(sink.logs).toContainEqual({ level: 'warn', message: expect.stringContaining('serial:/dev/ttyACM0') });
  });

  it('a port already in use is logged, start() still resolves, and the radio binds once the port is free', async () => {
    const squatter = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => squatter.bind(0, '127.0.0.1', () => resolve()));
    const port = squatter.address().port;
    const radio = new UdpRadio(udpConfig({ port }));
    const sink = new RecordingSink();
    // Backoff starts at 1 s; this test waits for at most one retry.
    await radio.start(sink);
    cleanups.push(() => radio.stop());
    expect(sink.logs.some((l) => l.level === 'error' && l.message.includes('cannot listen'))).toBe(true);
    expect(radio.port).toBe(0);
    await new Promise<void>((resolve) => squatter.close(() => resolve()));
    await expect.poll(() => radio.port, WAIT).toBe(port);
  });

  // What the kernel grants depends on net.core.rmem_max (212992 on a stock Debian or Raspberry Pi OS):
  // the expectation is what a plain socket is granted for the same request, never a fixed figure.
  const kernelGrants = async (bytes: number): Promise<number> => {
    const probe = await openSocket('udp4', '127.0.0.1');
    probe.setRecvBufferSize(bytes);
    return probe.getRecvBufferSize();
  };
  const radioSocket = (radio: UdpRadio) => (radio as unknown as { socket: dgram.Socket }).socket;

  it('asks the kernel for receiveBufferSize bytes of receive buffer, and logs nothing when granted', async () => {
    // Below the default and under any rmem_max, so the kernel grants it exactly and it differs from the
    // default: a radio that did not ask would show the default size.
    const defaultSize = (await openSocket('udp4', '127.0.0.1')).getRecvBufferSize();
    const asked = 16 * 1024;
    const { radio, sink } = await startRadio(udpConfig({ receiveBufferSize: asked }));
    expect(await kernelGrants(asked)).not.toBe(defaultSize);
    expect(radioSocket(radio).getRecvBufferSize()).toBe(await kernelGrants(asked));
    expect(sink.logs.filter((l) => l.message.includes('receive buffer'))).toEqual([]);
  });

  it('says so, naming net.core.rmem_max, when the kernel grants less than asked', async () => {
    const asked = 256 * 1024 * 1024; // far above any net.core.rmem_max
    const { sink } = await startRadio(udpConfig({ receiveBufferSize: asked }));
    const granted = (await kernelGrants(asked)) / 2; // Linux reports double what it granted
    expect(granted).toBeLessThan(asked);
    expect(sink.logs).toContainEqual({ level: 'info', message: `udp0: UDP receive buffer is ${granted} bytes (asked ${asked}); raise net.core.rmem_max for more` });
  });

  it('send() and broadcast() after stop() are silently dropped', async () => {
    const { radio } = await startRadio(udpConfig());
    await radio.stop();
    expect(() => radio.send('udp:127.0.0.1:9', Buffer.from([0x02, 0x17]))).not.toThrow();
    expect(() => radio.broadcast(Buffer.from([0x02, 0x17]))).not.toThrow();
  });
});

describe('UdpRadio on ::1', () => {
  // Some CI containers have no IPv6 loopback: there the suite fails loudly rather than passing vacuously
  // (README: the tests need an IPv6 loopback, as every stock Debian and Raspberry Pi OS has).
  it('speaks IPv6 with [::1] addresses', async () => {
    expect(hasIPv6Loopback, 'this machine has no IPv6 loopback (::1): enable it to run the suite').toBe(true);
    const { radio, sink } = await startRadio(udpConfig({ host: '::1' }));
    expect(radio.maxFrameSize).toBe(65_527);
    expect(radio.localAddress).toBe(`udp:[::1]:${radio.port}`);
    const sensor = await openSocket('udp6', '::1');
    sensor.send(Buffer.from([0x02, 0x16]), radio.port, '::1');
    const { address, frame } = await sink.nextFrame();
    expect(address).toBe(`udp:[::1]:${sensor.address().port}`);
    expect(frame).toEqual(Buffer.from([0x02, 0x16]));

    const reply = nextDatagram(sensor);
    radio.send(address, Buffer.from([0x02, 0x17]));
    expect((await reply).data).toEqual(Buffer.from([0x02, 0x17]));
  });
});
