/**
 * The embedded broker's lean persistence (gateway/broker/lean-persistence.ts) against aedes-persistence's
 * own abstract test suite, the conformance run every aedes persistence is held to, through a small adapter
 * from node:test's context (assert, plan, diagnostic) to vitest; then what the suite does not cover.
 */
import MemoryPersistence from 'aedes-persistence/asyncPersistence.js';
import fc from 'fast-check';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { LeanMemoryPersistence } from '../../gateway/broker/lean-persistence.js';
import { nodeTest, type NodeTestContext } from '../support/node-test-context.js';

const require = createRequire(import.meta.url);
type AbstractSuite = (options: { test: (name: string, body: (t: NodeTestContext) => Promise<void>) => void; persistence: () => unknown; testAsync: boolean }) => void;
const abstractPersistence = require('aedes-persistence/abstract.js') as AbstractSuite;

describe('aedes-persistence abstract suite on LeanMemoryPersistence', () => {
  abstractPersistence({
    test: nodeTest,
    persistence: () => new LeanMemoryPersistence(),
    testAsync: true,
  });
});

async function streamed<T>(stream: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

describe('LeanMemoryPersistence beyond the abstract suite', () => {
  it('MQTT 3.1.1 §3.3.1.3: an aedes QoS 0 retained packet is read back with its topic, payload bytes (any, not only text) and QoS', async () => {
    const store = new LeanMemoryPersistence();
    const payload = Buffer.from([0x00, 0xff, 0x80, 0x7f, 0xc3, 0x28]);
    await store.storeRetained({ cmd: 'publish', brokerId: 'b', brokerCounter: 7, topic: 'a/b', payload, qos: 0, retain: true, dup: false, clientId: 'gw' });
    const [packet] = await streamed(store.createRetainedStreamCombi(['a/b']));
    expect(packet).toEqual({ cmd: 'publish', topic: 'a/b', payload, qos: 0, retain: true });
  });

  it('MQTT 3.1.1 §3.3.1.3: a retained QoS 1 packet keeps its QoS, and a wildcard filter finds it by a scan (counted)', async () => {
    const store = new LeanMemoryPersistence();
    await store.storeRetained({ cmd: 'publish', brokerId: 'b', brokerCounter: 1, topic: 'site/x/t', payload: Buffer.from('21'), qos: 1, retain: true, dup: false });
    expect(store.retainedScans).toBe(0);
    const found = await streamed(store.createRetainedStreamCombi(['site/+/t']));
    expect(found).toEqual([{ cmd: 'publish', topic: 'site/x/t', payload: Buffer.from('21'), qos: 1, retain: true }]);
    expect(store.retainedScans).toBe(1);
  });

  it('MQTT 3.1.1 §3.3.1.3: an empty payload clears the topic\'s retained message', async () => {
    const store = new LeanMemoryPersistence();
    const packet = { cmd: 'publish', brokerId: 'b', brokerCounter: 1, topic: 'c/1', payload: Buffer.from('x'), qos: 0, retain: true, dup: false };
    await store.storeRetained(packet);
    await store.storeRetained({ ...packet, payload: Buffer.alloc(0) });
    expect(await streamed(store.createRetainedStreamCombi(['c/1', 'c/#']))).toEqual([]);
  });

  it('MQTT 5 §3.8.3.1: subscription options (rh, rap, nl) and a subscription identifier come back as given', async () => {
    const store = new LeanMemoryPersistence();
    const subs = [
      { topic: 'a', qos: 2, rh: 2, rap: false, nl: true },
      { topic: 'b/#', qos: 1, rh: 1, rap: true, nl: false, subscriptionIdentifier: 42 },
      { topic: 'c', qos: 0, rh: undefined, rap: undefined, nl: undefined },
    ];
    await store.addSubscriptions({ id: 'k' }, subs);
    expect(await store.subscriptionsByClient({ id: 'k' })).toEqual(subs);
    expect(await store.subscriptionsByTopic('b/1')).toEqual([{ clientId: 'k', topic: 'b/#', qos: 1, rh: 1, rap: true, nl: false }]);
  });

  it('MQTT 3.1.1 §4.3: with no QoS > 0 subscription anywhere, every QoS 1/2 message gets the same empty answer, with nothing built for it; a QoS 1 one is found again once made', async () => {
    const store = new LeanMemoryPersistence();
    await store.addSubscriptions({ id: 'zero' }, [{ topic: 'q/#', qos: 0 }]);
    const first = store.subscriptionsByTopic('q/1');
    expect(store.subscriptionsByTopic('q/2')).toBe(first);
    expect(await first).toEqual([]);
    await store.addSubscriptions({ id: 'one' }, [{ topic: 'q/#', qos: 1 }]);
    expect((await store.subscriptionsByTopic('q/1')).map((sub) => sub.clientId)).toEqual(['one']);
    await store.removeSubscriptions({ id: 'one' }, ['q/#']);
    expect(store.subscriptionsByTopic('q/3')).toBe(first);
  });

  it('a filter held by two clients, then by one, then by none: each step lists the right clients and the wildcard stops matching', async () => {
    const store = new LeanMemoryPersistence();
    await store.addSubscriptions({ id: 'one' }, [{ topic: 'x/#', qos: 1 }]);
    await store.addSubscriptions({ id: 'two' }, [{ topic: 'x/#', qos: 2 }]);
    expect((await store.subscriptionsByTopic('x/y')).map((s) => [s.clientId, s.qos])).toEqual([['one', 1], ['two', 2]]);
    await store.removeSubscriptions({ id: 'one' }, ['x/#']);
    expect(await streamed(store.getClientList('x/#'))).toEqual(['two']);
    await store.cleanSubscriptions({ id: 'two' });
    expect(await store.subscriptionsByTopic('x/y')).toEqual([]);
    expect(await store.countOffline()).toEqual({ subsCount: 0, clientsCount: 0 });
  });

  it('answers as aedes-persistence\'s own memory store does (each client\'s subscriptionsByTopic in the same order) for any subscribes, unsubscribes and cleans of a few clients', async () => {
    const filter = fc.array(fc.constantFrom('a', 'b', '', '+'), { minLength: 1, maxLength: 3 }).chain((words) =>
      fc.boolean().map((hash) => (hash ? [...words.slice(0, -1), '#'] : words).join('/')));
    const topic = fc.array(fc.constantFrom('a', 'b', ''), { minLength: 1, maxLength: 3 }).map((words) => words.join('/'));
    const client = fc.constantFrom('c1', 'c2', 'c3');
    const step = fc.oneof(
      fc.record({ op: fc.constant('add' as const), client, subs: fc.array(fc.record({ topic: filter, qos: fc.constantFrom(0, 1, 2) }), { maxLength: 3 }) }),
      fc.record({ op: fc.constant('remove' as const), client, topics: fc.array(filter, { maxLength: 3 }) }),
      fc.record({ op: fc.constant('clean' as const), client }),
    );
    await fc.assert(fc.asyncProperty(fc.array(step, { maxLength: 25 }), fc.array(topic, { minLength: 1, maxLength: 5 }), async (steps, topics) => {
      const ours = new LeanMemoryPersistence();
      const theirs = new MemoryPersistence();
      for (const store of [ours, theirs]) {
        for (const s of steps) {
          if (s.op === 'add') await store.addSubscriptions({ id: s.client }, s.subs);
          else if (s.op === 'remove') await store.removeSubscriptions({ id: s.client }, s.topics);
          else await store.cleanSubscriptions({ id: s.client });
        }
      }
      // Each client's matches in the same order (the order aedes queues one client's copies in); between clients, order is not kept.
      const perClient = (subs: object[]) => {
        const grouped = new Map<string, object[]>();
        for (const sub of subs as { clientId: string }[]) grouped.set(sub.clientId, [...(grouped.get(sub.clientId) ?? []), sub]);
        return [...grouped].sort(([x], [y]) => (x < y ? -1 : 1));
      };
      for (const t of topics) expect(perClient(await ours.subscriptionsByTopic(t)), t).toEqual(perClient(await theirs.subscriptionsByTopic(t)));
      // A client's own list comes in the order its filters were first subscribed by anyone, not by it: aedes restores them all.
      const byTopic = (subs: object[]) => [...(subs as { topic: string }[])].sort((x, y) => (x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : 0));
      for (const id of ['c1', 'c2', 'c3']) expect(byTopic(await ours.subscriptionsByClient({ id }))).toEqual(byTopic(await theirs.subscriptionsByClient({ id })));
      expect(await ours.countOffline()).toEqual(await theirs.countOffline());
    }), { numRuns: 300 });
  });
});
