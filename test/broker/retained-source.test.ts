/**
 * Retained messages a RetainedSource renders (the embedded broker's status topics, issue 13): the
 * persistence never stores the source's topics, reads them back as the source says when asked, and
 * asks the source only for filters that could match its topics (mayMatchOneLevelUnder, checked here
 * against a real MQTT topic matcher).
 */
import fc from 'fast-check';
import { QlobberTrue } from 'qlobber';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LeanMemoryPersistence } from '../../gateway/broker/lean-persistence.js';
import { mayMatchOneLevelUnder, type RetainedSource } from '../../gateway/broker/retained-source.js';

async function streamed(stream: Readable): Promise<unknown[]> {
  const items: unknown[] = [];
  for await (const item of stream) items.push(item);
  return items;
}

/** A source owning `gw/clients/<one level>`, with what it would render now, counting the passes over its topics. */
class StatusLikeSource implements RetainedSource {
  readonly now = new Map<string, string>();
  passes = 0;
  owns(topic: string): boolean {
    return topic.startsWith('gw/clients/') && !topic.slice('gw/clients/'.length).includes('/');
  }
  mayMatch(filter: string): boolean {
    return mayMatchOneLevelUnder(filter, ['gw', 'clients']);
  }
  payload(topic: string): Buffer | undefined {
    const text = this.now.get(topic);
    return text === undefined ? undefined : Buffer.from(text);
  }
  *topics(): IterableIterator<string> {
    this.passes++;
    yield* this.now.keys();
  }
}

const publish = (topic: string, payload: string) => ({ cmd: 'publish', brokerId: 'b', brokerCounter: 1, topic, payload: Buffer.from(payload), qos: 0, retain: true, dup: false });

describe('a RetainedSource\'s topics in LeanMemoryPersistence', () => {
  it('MQTT 3.1.1 §3.3.1.3: a retained message published to a topic the source owns is not stored; one elsewhere is', async () => {
    const store = new LeanMemoryPersistence();
    store.serveRetained(new StatusLikeSource());
    await store.storeRetained(publish('gw/clients/a', 'published'));
    await store.storeRetained(publish('gw/other', 'kept'));
    expect(store.retainedStored).toBe(1);
    expect(await streamed(store.createRetainedStreamCombi(['gw/clients/a', 'gw/other']))).toEqual([
      { cmd: 'publish', topic: 'gw/other', payload: Buffer.from('kept'), qos: 0, retain: true },
    ]);
  });

  it('MQTT 3.1.1 §3.3.1.3: an owned topic reads back as the source renders it when asked, at QoS 0 and retained, by exact filter and by wildcard', async () => {
    const store = new LeanMemoryPersistence();
    const source = new StatusLikeSource();
    store.serveRetained(source);
    source.now.set('gw/clients/a', '{"state":"active"}');
    await store.storeRetained(publish('gw/clients/a', '{"state":"active"}'));
    source.now.set('gw/clients/a', '{"state":"asleep"}');
    const asleep = { cmd: 'publish', topic: 'gw/clients/a', payload: Buffer.from('{"state":"asleep"}'), qos: 0, retain: true };
    expect(await streamed(store.createRetainedStreamCombi(['gw/clients/a', 'gw/+/a', '#']))).toEqual([asleep, asleep, asleep]);
  });

  it('MQTT 3.1.1 §3.3.1.3: a topic the source has nothing for now has no retained message (a forgotten session)', async () => {
    const store = new LeanMemoryPersistence();
    const source = new StatusLikeSource();
    store.serveRetained(source);
    source.now.set('gw/clients/gone', '{}');
    source.now.delete('gw/clients/gone');
    expect(await streamed(store.createRetainedStreamCombi(['gw/clients/gone', 'gw/clients/+']))).toEqual([]);
  });

  it('retained messages stored for the source\'s topics before it came are dropped when it comes', async () => {
    const store = new LeanMemoryPersistence();
    await store.storeRetained(publish('gw/clients/early', 'before the source'));
    await store.storeRetained(publish('gw/other', 'kept'));
    store.serveRetained(new StatusLikeSource());
    expect(store.retainedStored).toBe(1);
    expect(await streamed(store.createRetainedStreamCombi(['gw/#']))).toEqual([
      { cmd: 'publish', topic: 'gw/other', payload: Buffer.from('kept'), qos: 0, retain: true },
    ]);
  });

  it('a wildcard filter that cannot reach the source\'s topics makes no pass over them', async () => {
    const store = new LeanMemoryPersistence();
    const source = new StatusLikeSource();
    store.serveRetained(source);
    for (let i = 0; i < 100; i++) source.now.set(`gw/clients/s${i}`, '{}');
    await streamed(store.createRetainedStreamCombi(['crowd/+/cmd', 'gw/other/+', 'gw/clients/+/x']));
    expect(source.passes).toBe(0);
    expect(await streamed(store.createRetainedStreamCombi(['+/clients/+']))).toHaveLength(100);
    expect(source.passes).toBe(1);
  });
});

describe('mayMatchOneLevelUnder', () => {
  const prefix = ['gw', 'clients'];
  /** Topics one level under the prefix, and a few that are not. */
  const under = ['gw/clients/a', 'gw/clients/b', 'gw/clients/', 'gw/clients/$x'];

  it('MQTT 3.1.1 §4.7: never says no to a filter that matches a topic one level under the prefix (any filter of MQTT levels and wildcards)', () => {
    const level = fc.constantFrom('gw', 'clients', 'a', 'b', 'x', '', '+', '#', '$x');
    const filter = fc.array(level, { minLength: 1, maxLength: 5 })
      // MQTT 3.1.1 §4.7.1.2: # only as the last level.
      .filter((levels) => levels.indexOf('#') === -1 || levels.indexOf('#') === levels.length - 1)
      .map((levels) => levels.join('/'));
    fc.assert(fc.property(filter, (f) => {
      const matches = under.some((topic) => new QlobberTrue({ wildcard_one: '+', wildcard_some: '#', separator: '/' }).add(f).test(topic));
      if (matches) expect(mayMatchOneLevelUnder(f, prefix)).toBe(true);
    }), { numRuns: 2000 });
  });

  it('says no to filters that stop short of the level, go past it, or differ on the prefix', () => {
    for (const f of ['gw', 'gw/clients', 'gw/+', 'gw/clients/a/b', 'gw/clients/+/+', 'gw/other/+', 'x/clients/#', '+/x/+']) {
      expect([f, mayMatchOneLevelUnder(f, prefix)]).toEqual([f, false]);
    }
    for (const f of ['#', 'gw/#', '+/+/+', 'gw/clients/+', 'gw/clients/#', 'gw/+/a/#', '+/clients/a']) {
      expect([f, mayMatchOneLevelUnder(f, prefix)]).toEqual([f, true]);
    }
  });
});
