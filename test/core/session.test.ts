/** Session data helpers: per-client topic ids (§6.5) and the shared empty map sessions start with. */
import { describe, expect, it } from 'vitest';
import { forgetRegistrations, forgetTopicId, newSession, NO_INFLIGHT, NO_MESSAGES, NO_SUBSCRIPTIONS, NO_TOPICS, registerTopic, setSubscription } from '../../gateway/core/session.js';
import { readRecord, toRecord } from '../../gateway/core/session-record.js';

const link = { radio: 'udp0', address: 'udp:127.0.0.1:1' };

describe('session helpers', () => {
  it('§6.5 topic ids start at 1, are stable per name, and skip 0x0000, 0xFFFF and ids still in use after wrap-around', () => {
    const s = newSession('c', link, 0);
    expect(registerTopic(s, 'a')).toBe(1);
    expect(registerTopic(s, 'b')).toBe(2);
    expect(registerTopic(s, 'a')).toBe(1);
    s.nextTopicId = 0xfffe;
    expect(registerTopic(s, 'c')).toBe(0xfffe);
    // Wraps to 1, which 'a' still holds, and 2 ('b'): the next free id is 3.
    expect(registerTopic(s, 'd')).toBe(3);
    expect(forgetTopicId(s, 1)).toBe('a');
    expect(s.topics.idOf('a')).toBeUndefined();
    expect(registerTopic(s, 'a')).toBe(4);
  });

  it('sessions share one empty registry and subscription list until they write: no write can reach them, and a writer gets its own', () => {
    const a = newSession('a', link, 0);
    const b = newSession('b', link, 0);
    expect(a.subscriptions).toBe(b.subscriptions);
    expect(a.topics).toBe(b.topics);
    expect(() => a.subscriptions.set('x', { filter: 'x', qos: 0, topicIdType: 'normal' })).toThrow(/shared empty subscriptions/);
    expect(() => a.topics.set('x', 1)).toThrow(/shared empty topic registry/);
    setSubscription(a, { filter: 'x', qos: 1, topicIdType: 'normal' });
    registerTopic(a, 't');
    expect(a.subscriptions.get('x')?.qos).toBe(1);
    expect(b.subscriptions.size).toBe(0);
    expect(b.topics.size).toBe(0);
    expect(NO_SUBSCRIPTIONS.size).toBe(0);
    expect(NO_TOPICS.size).toBe(0);
    forgetRegistrations(a);
    expect(a.subscriptions).toBe(NO_SUBSCRIPTIONS);
    expect(a.topics).toBe(NO_TOPICS);
    expect(registerTopic(a, 't')).toBe(1);
  });
});

describe('session records', () => {
  it('§6.3 a record with nothing registered, subscribed or queued reads back into the shared empty structures', () => {
    const back = readRecord('c', JSON.parse(JSON.stringify(toRecord(newSession('c', link, 0)))));
    expect(back.topics).toBe(NO_TOPICS);
    expect(back.subscriptions).toBe(NO_SUBSCRIPTIONS);
    expect(back.queue).toBe(NO_MESSAGES);
    expect(back.inflight).toBe(NO_INFLIGHT);
  });


  it('§6.9 a subscription made by predefined id keeps that id through a store round trip', () => {
    const s = newSession('c', link, 0);
    setSubscription(s, { filter: 'fleet/c/temperature', qos: 1, topicIdType: 'predefined', topicId: 21 });
    setSubscription(s, { filter: 'by/name', qos: 0, topicIdType: 'normal' });
    const back = readRecord('c', JSON.parse(JSON.stringify(toRecord(s))));
    expect([...back.subscriptions.values()]).toEqual([
      { filter: 'fleet/c/temperature', qos: 1, topicIdType: 'predefined', topicId: 21 },
      { filter: 'by/name', qos: 0, topicIdType: 'normal' },
    ]);
  });
});
