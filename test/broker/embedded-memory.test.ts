/**
 * Issue 13: the embedded broker's share of each sensor, bounded in bytes of heap (never time): one
 * subscription of the gateway's connection and one retained status message (~170 B of JSON) in its
 * persistence, and the subscription's filter in its message router's matcher. Measured after full
 * collections, the median of five rounds; filters, topics and listeners are made before the first reading,
 * so what is counted is what the store and the matcher add (and keep of each PUBLISH handed to them).
 * Measured here (heap and Buffer memory, medians): the persistence 285–330 B a sensor (aedes-persistence's own
 * store: 1,420; each packet kept whole, its payload Buffer with it: about 500); the matcher 46 B a filter
 * (qlobber: 495–500). The bounds leave room for V8's table sizes, and fail each of those.
 */
import MemoryPersistence from 'aedes-persistence/asyncPersistence.js';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Qlobber } from 'qlobber';
import { describe, expect, it } from 'vitest';
import { LeanMemoryPersistence } from '../../gateway/broker/lean-persistence.js';
import { TopicMatcher } from '../../gateway/broker/topic-matcher.js';

v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const SENSORS = 5000;
const ROUNDS = 5;

/** The JavaScript heap and the Buffers' memory outside it (a small Buffer keeps a share of an 8 KB pool slab). */
function heapAfterCollections(): number {
  gc();
  gc();
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
}

/**
 * Median growth per sensor over `ROUNDS` rounds of building a fresh structure for every sensor (each kept):
 * a collection can free something of the test run's own between two readings, so a round can also read low.
 */
async function bytesPerSensor(build: () => Promise<unknown>): Promise<number> {
  const perSensor: number[] = [];
  const kept: unknown[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const before = heapAfterCollections();
    kept.push(await build()); // alive until the rounds are over
    perSensor.push((heapAfterCollections() - before) / SENSORS);
  }
  return perSensor.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
}

const filters = Array.from({ length: SENSORS }, (_, i) => `crowd/bench/${i}/in`);
const statusTopics = Array.from({ length: SENSORS }, (_, i) => `mqtt-sn/1/clients/crowd-bench-${i}`);
const statusJson = statusTopics.map((_, i) => JSON.stringify({
  clientId: `crowd-bench-${i}`, state: 'active', radio: 'udp0', address: `udp:127.0.0.1:${40000 + (i % 20000)}`, lastSeen: new Date(1.8e12 + i).toISOString(), keepAlive: 60, buffered: 0, dropped: 0,
}));
/** A status PUBLISH as aedes hands it to storeRetained: a packet and a payload Buffer of its own, dropped after. */
const statusPacket = (i: number) => ({
  cmd: 'publish', brokerId: 'broker-id', brokerCounter: i + 1, topic: statusTopics[i], qos: 0, retain: true, dup: false, clientId: 'mqttsn-gw-1', payload: Buffer.from(statusJson[i]),
});
const gatewayClient = { id: 'mqttsn-gw-1' };

/** The gateway's SUBSCRIBEs (QoS 2, MQTT 3.1.1) and every sensor's retained status message, in a store. */
async function filled(store: LeanMemoryPersistence | MemoryPersistence): Promise<unknown> {
  for (let i = 0; i < SENSORS; i++) {
    await store.addSubscriptions(gatewayClient, [{ topic: filters[i], qos: 2 }]);
    await store.storeRetained(statusPacket(i));
  }
  return store;
}

describe('the embedded broker\'s memory per sensor (issue 13)', () => {
  it('its persistence keeps a subscription and a retained status message in under 420 B (heap and Buffer memory)', async () => {
    const ours = await bytesPerSensor(() => filled(new LeanMemoryPersistence()));
    const theirs = await bytesPerSensor(() => filled(new MemoryPersistence()));
    expect(ours).toBeLessThan(420);
    // The bound means something: aedes-persistence's own store is far over it, measured the same way.
    expect(theirs).toBeGreaterThan(420);
  });

  it('its message router\'s matcher keeps a filter without wildcards in under 120 B of heap', async () => {
    const listeners = filters.map(() => () => {});
    const options = { separator: '/', wildcardOne: '+', wildcardSome: '#', matchEmptyLevels: true };
    const ours = await bytesPerSensor(async () => {
      const matcher = new TopicMatcher<() => void>(options);
      for (let i = 0; i < SENSORS; i++) matcher.add(filters[i], listeners[i]);
      return matcher;
    });
    const theirs = await bytesPerSensor(async () => {
      const trie = new Qlobber<() => void>({ separator: '/', wildcard_one: '+', wildcard_some: '#', match_empty_levels: true });
      for (let i = 0; i < SENSORS; i++) trie.add(filters[i], listeners[i]);
      return trie;
    });
    expect(ours).toBeLessThan(120);
    expect(theirs).toBeGreaterThan(120);
  });
});
