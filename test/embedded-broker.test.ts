import { connectAsync, MqttClient } from 'mqtt';
import { Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startEmbeddedBroker, type EmbeddedBroker } from '../gateway/broker/embedded-broker.js';
import { until } from './support/harness.js';

const opened: MqttClient[] = [];
let broker: EmbeddedBroker | undefined;

afterEach(async () => {
  vi.restoreAllMocks();
  for (const client of opened.splice(0)) await client.endAsync(true);
  await broker?.close();
  broker = undefined;
});

async function client(url: string, clientId: string): Promise<MqttClient> {
  const c = await connectAsync(url, { clientId, reconnectPeriod: 0 });
  opened.push(c);
  return c;
}

function nextMessage(c: MqttClient): Promise<{ topic: string; payload: string; qos: number; retain: boolean }> {
  return new Promise((resolve) => {
    c.once('message', (topic, payload, packet) => resolve({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain }));
  });
}

describe('embedded broker', () => {
  it('listens on loopback with a free port when asked for port 0', async () => {
    broker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
    expect(broker.port).toBeGreaterThan(0);
    expect(broker.url).toBe(`mqtt://127.0.0.1:${broker.port}`);
  });

  it('carries QoS 1 and QoS 2 between two clients', async () => {
    broker = await startEmbeddedBroker({ port: 0 });
    const subscriber = await client(broker.url, 'sub');
    const publisher = await client(broker.url, 'pub');
    await subscriber.subscribeAsync('home/#', { qos: 2 });
    const acksFromBroker: string[] = [];
    publisher.on('packetreceive', (packet) => acksFromBroker.push(packet.cmd));

    const first = nextMessage(subscriber);
    await publisher.publishAsync('home/kitchen/temp', '21.5', { qos: 1 });
    expect(acksFromBroker).toEqual(['puback']);
    expect(await first).toEqual({ topic: 'home/kitchen/temp', payload: '21.5', qos: 1, retain: false });

    const second = nextMessage(subscriber);
    await publisher.publishAsync('home/garden/temp', '18', { qos: 2 });
    expect(acksFromBroker).toEqual(['puback', 'pubrec', 'pubcomp']);
    expect(await second).toEqual({ topic: 'home/garden/temp', payload: '18', qos: 2, retain: false });
  });

  it('keeps a retained message for a late subscriber', async () => {
    broker = await startEmbeddedBroker({ port: 0 });
    const publisher = await client(broker.url, 'pub');
    await publisher.publishAsync('home/door', 'open', { qos: 1, retain: true });

    const late = await client(broker.url, 'late');
    const retained = nextMessage(late);
    await late.subscribeAsync('home/door', { qos: 1 });
    expect(await retained).toEqual({ topic: 'home/door', payload: 'open', qos: 1, retain: true });
  });

  it('a SUBSCRIBE to an exact topic finds its retained message by topic, without a scan of every retained topic (one per sensor with status topics)', async () => {
    broker = await startEmbeddedBroker({ port: 0 });
    const publisher = await client(broker.url, 'retainer');
    for (let n = 0; n < 50; n++) await publisher.publishAsync(`fleet/${n}`, `state ${n}`, { qos: 1, retain: true });
    await publisher.publishAsync('fleet/7', '', { qos: 1, retain: true }); // cleared
    const subscriber = await client(broker.url, 'exact');
    const got = nextMessage(subscriber);
    await subscriber.subscribeAsync(['fleet/7', 'fleet/42'], { qos: 1 });
    expect(await got).toEqual({ topic: 'fleet/42', payload: 'state 42', qos: 1, retain: true });
    expect(broker.retainedScans).toBe(0);
  });

  it('a SUBSCRIBE with a wildcard still gets every matching retained message (the scan aedes does itself)', async () => {
    broker = await startEmbeddedBroker({ port: 0 });
    const publisher = await client(broker.url, 'retainer');
    for (const topic of ['site/a/t', 'site/b/t', 'site/b/h', 'other/a/t']) await publisher.publishAsync(topic, topic, { qos: 1, retain: true });
    const subscriber = await client(broker.url, 'wild');
    const got: string[] = [];
    subscriber.on('message', (topic, _payload, packet) => { if (packet.retain) got.push(topic); });
    await subscriber.subscribeAsync('site/+/t', { qos: 1 });
    // aedes streams the retained messages after the SUBACK, over several turns: a live message published
    // meanwhile may come between them. Wait for the two, then let a live message through behind any more.
    await until(() => got.length >= 2);
    const probe = nextMessage(subscriber);
    await publisher.publishAsync('site/z/t', 'live', { qos: 1 });
    await probe;
    expect(got.sort()).toEqual(['site/a/t', 'site/b/t']);
    expect(broker.retainedScans).toBe(1);
  });

  it('close() ends client connections and frees the port', async () => {
    broker = await startEmbeddedBroker({ port: 0 });
    const { url, port } = broker;
    const c = await client(url, 'c');
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    await broker.close();
    await closed;
    expect(c.connected).toBe(false);
    // The port is free again: a second broker can take it.
    broker = await startEmbeddedBroker({ port });
    expect(broker.port).toBe(port);
  });

  it('TCP_NODELAY on each client\'s connection: a subscriber\'s small messages are not held for its acknowledgement of the last (Nagle, up to 40 ms; bench:subscriber)', async () => {
    const setNoDelay = vi.spyOn(Socket.prototype, 'setNoDelay');
    broker = await startEmbeddedBroker({ port: 0 });
    const subscriber = await client(broker.url, 'sub');
    const port = (subscriber.stream as Socket).localPort;
    const brokerEnd = setNoDelay.mock.contexts.findIndex((socket) => (socket as Socket).remotePort === port);
    expect(brokerEnd).toBeGreaterThanOrEqual(0);
    expect(setNoDelay.mock.calls[brokerEnd]).toEqual([true]);
  });

  it('broker.embedded.tcpNoDelay: false leaves Nagle\'s algorithm on, as aedes does', async () => {
    const setNoDelay = vi.spyOn(Socket.prototype, 'setNoDelay');
    broker = await startEmbeddedBroker({ port: 0, tcpNoDelay: false });
    const subscriber = await client(broker.url, 'sub');
    const port = (subscriber.stream as Socket).localPort;
    expect(setNoDelay.mock.contexts.some((socket) => (socket as Socket).remotePort === port)).toBe(false);
  });

  it('a port in use is a clear error', async () => {
    broker = await startEmbeddedBroker({ port: 0 });
    await expect(startEmbeddedBroker({ port: broker.port })).rejects.toThrow(/embedded MQTT broker cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE.*use it with broker\.url: mqtt:\/\/127\.0\.0\.1:\d+/);
  });

  it('connect(): an in-memory connection (no TCP) carries QoS 1 both ways with a TCP client', async () => {
    broker = await startEmbeddedBroker({ port: 0 });
    const inMemory = new MqttClient(broker.connect, { clientId: 'in-memory', reconnectPeriod: 0 });
    opened.push(inMemory);
    await new Promise<void>((resolve, reject) => {
      inMemory.once('connect', () => resolve());
      inMemory.once('error', reject);
    });
    const tcp = await client(broker.url, 'tcp');
    await tcp.subscribeAsync('from/memory', { qos: 1 });
    await inMemory.subscribeAsync('from/tcp', { qos: 1 });

    const atTcp = nextMessage(tcp);
    await inMemory.publishAsync('from/memory', 'hello', { qos: 1 });
    expect(await atTcp).toEqual({ topic: 'from/memory', payload: 'hello', qos: 1, retain: false });
    const atMemory = nextMessage(inMemory);
    await tcp.publishAsync('from/tcp', 'hi', { qos: 1 });
    expect(await atMemory).toEqual({ topic: 'from/tcp', payload: 'hi', qos: 1, retain: false });
    expect(inMemory.stream.constructor.name).not.toBe('Socket');
  });

  it('close() ends in-memory connections too', async () => {
    broker = await startEmbeddedBroker({ port: 0 });
    const inMemory = new MqttClient(broker.connect, { clientId: 'in-memory', reconnectPeriod: 0 });
    opened.push(inMemory);
    await new Promise<void>((resolve) => inMemory.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => inMemory.once('close', () => resolve()));
    await broker.close();
    await closed;
    expect(inMemory.connected).toBe(false);
  });
});
