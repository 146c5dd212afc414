/**
 * The embedded broker's message router (gateway/broker/lean-mqemitter.ts) against mqemitter's own abstract
 * test suite, through the same node:test adapter as the persistence's; then what the suite does not cover.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Qlobber } from 'qlobber';
import mqemitter from 'mqemitter';
import { leanMqEmitter, listenersOf, type Listener } from '../../gateway/broker/lean-mqemitter.js';
import { TopicMatcher } from '../../gateway/broker/topic-matcher.js';
import { nodeTest, type NodeTestContext } from '../support/node-test-context.js';

const require = createRequire(import.meta.url);
type AbstractSuite = (options: { test: (name: string, body: (t: NodeTestContext) => Promise<void>) => void; builder: (options?: object) => unknown }) => void;
const abstractTests = require('mqemitter/abstractTest.js') as AbstractSuite;

describe('mqemitter abstract suite on leanMqEmitter', () => {
  abstractTests({
    test: nodeTest,
    builder: (options) => leanMqEmitter(options),
  });
});


const OPTIONS = { separator: '/', wildcardOne: '+', wildcardSome: '#', matchEmptyLevels: true };
/** A listener that says which it is, for comparing lists. */
const named = (name: string): Listener => Object.assign(() => {}, { label: name });
const names = (listeners: Listener[]): string[] => listeners.map((l) => (l as unknown as { label: string }).label);

describe('leanMqEmitter beyond the abstract suite', () => {
  it('replaces mqemitter\'s matcher (fails if mqemitter renames the field it swaps)', () => {
    const emitter = leanMqEmitter({ matchEmptyLevels: true }) as unknown as { _matcher: unknown };
    expect(emitter._matcher).toBeInstanceOf(TopicMatcher);
  });

  it('MQTT 3.1.1 §4.7: filters without + are kept in Maps, not the trie; a topic gets its # filters level by level, then its exact filter, then + filters, as qlobber orders them', () => {
    const matcher = new TopicMatcher<Listener>(OPTIONS);
    for (const filter of ['a/b', 'a/+', '#', 'a/#', 'a/b/#', 'a/c', '+/b']) matcher.add(filter, named(filter));
    expect(matcher.filtersInMaps).toBe(5);
    expect(names(matcher.match('a/b'))).toEqual(['#', 'a/#', 'a/b/#', 'a/b', 'a/+', '+/b']);
    expect(names(matcher.match('a'))).toEqual(['#', 'a/#']);
    expect(names(matcher.match('x'))).toEqual(['#']);
  });

  it('MQTT 3.1.1 §4.7.1.3: with matchEmptyLevels, + matches an empty level; an exact filter still matches only its own topic', () => {
    const matcher = new TopicMatcher<Listener>(OPTIONS);
    matcher.add('a/+/c', named('a/+/c')).add('a//c', named('a//c'));
    expect(names(matcher.match('a//c'))).toEqual(['a//c', 'a/+/c']);
    expect(matcher.match('a/c')).toEqual([]);
  });

  it('one filter with several listeners: remove(filter, listener) takes its last occurrence, as qlobber does; remove(filter) takes all', () => {
    const matcher = new TopicMatcher<Listener>(OPTIONS);
    const [first, second] = [named('first'), named('second')];
    matcher.add('t', first).add('t', second).add('t', first);
    matcher.remove('t', first);
    expect(names(matcher.match('t'))).toEqual(['first', 'second']);
    matcher.remove('t', first);
    expect(names(matcher.match('t'))).toEqual(['second']);
    matcher.add('t', first).remove('t');
    expect(matcher.match('t')).toEqual([]);
    expect(matcher.filtersInMaps).toBe(0);
  });

  it('matching leaves the filters as they were: the same topic matched twice gets the same listeners (qlobber\'s match() may return its own array)', () => {
    const matcher = new TopicMatcher<Listener>(OPTIONS);
    matcher.add('cmd/+/set', named('cmd/+/set')).add('cmd/x/set', named('cmd/x/set'));
    expect(names(matcher.match('cmd/x/set'))).toEqual(['cmd/x/set', 'cmd/+/set']);
    expect(names(matcher.match('cmd/x/set'))).toEqual(['cmd/x/set', 'cmd/+/set']);
    expect(names(matcher.match('cmd/y/set'))).toEqual(['cmd/+/set']);
  });

  it('MQTT 3.1.1 §4.7.1.3: a topic whose first level no + filter has is matched without the trie (aedes\'s own $SYS/+/new/clients is always there)', () => {
    const matcher = new TopicMatcher<Listener>(OPTIONS);
    matcher.add('$SYS/+/new/clients', named('sys')).add('crowd/1/in', named('exact'));
    expect(names(matcher.match('crowd/1/in'))).toEqual(['exact']);
    expect(matcher.trieLookups).toBe(0);
    expect(names(matcher.match('$SYS/b1/new/clients'))).toEqual(['sys']);
    expect(matcher.trieLookups).toBe(1);
    // A filter starting with a wildcard may match any topic: the trie is asked again.
    matcher.add('+/1/in', named('any-first'));
    expect(names(matcher.match('crowd/1/in'))).toEqual(['exact', 'any-first']);
    expect(matcher.trieLookups).toBe(2);
  });

  it('matches what mqemitter\'s qlobber matches, in the same order, for any filters, topics and removals', () => {
    const word = fc.constantFrom('a', 'b', '', 'c');
    const filterWord = fc.constantFrom('a', 'b', '', '+', 'c');
    const filter = fc.tuple(fc.array(filterWord, { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([words, hash]) => (hash ? [...words.slice(0, -1), '#'] : words).join('/'));
    const topic = fc.array(word, { minLength: 1, maxLength: 4 }).map((words) => words.join('/'));
    const step = fc.oneof(
      fc.record({ op: fc.constant('add' as const), filter, listener: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ op: fc.constant('remove' as const), filter, listener: fc.option(fc.integer({ min: 0, max: 3 }), { nil: undefined }) }),
    );
    fc.assert(fc.property(fc.array(step, { maxLength: 30 }), fc.array(topic, { minLength: 1, maxLength: 8 }), fc.boolean(), (steps, topics, matchEmptyLevels) => {
      const listeners = [0, 1, 2, 3].map((n) => named(`l${n}`));
      const ours = new TopicMatcher<Listener>({ ...OPTIONS, matchEmptyLevels });
      const stock = new Qlobber<Listener>({ separator: '/', wildcard_one: '+', wildcard_some: '#', match_empty_levels: matchEmptyLevels });
      for (const s of steps) {
        const listener = s.listener === undefined ? undefined : listeners[s.listener];
        if (s.op === 'add') { ours.add(s.filter, listener!); stock.add(s.filter, listener!); }
        else { ours.remove(s.filter, listener); stock.remove(s.filter, listener); }
      }
      for (const t of topics) expect(names(ours.match(t)), t).toEqual(names(stock.match(t)));
    }), { numRuns: 500 });
  });

  it('listenersOf(filter) names the listeners added for that filter itself and not removed, in order, in leanMqEmitter and in mqemitter\'s own (its qlobber\'s trie, read through get_trie())', () => {
    const filter = fc.tuple(fc.array(fc.constantFrom('a', 'b', '', '+'), { minLength: 1, maxLength: 3 }), fc.boolean())
      .map(([words, hash]) => (hash ? [...words.slice(0, -1), '#'] : words).join('/'));
    const step = fc.record({ add: fc.boolean(), filter, listener: fc.integer({ min: 0, max: 2 }) });
    fc.assert(fc.property(fc.array(step, { maxLength: 25 }), (steps) => {
      const listeners = [0, 1, 2].map((n) => named(`l${n}`));
      const emitters = [leanMqEmitter(), mqemitter()];
      const expected = new Map<string, Listener[]>();
      for (const s of steps) {
        const listener = listeners[s.listener]!;
        const held = expected.get(s.filter) ?? [];
        if (s.add) {
          held.push(listener);
          for (const e of emitters) (e as unknown as { _matcher: { add(f: string, l: Listener): void } })._matcher.add(s.filter, listener);
        } else {
          const at = held.lastIndexOf(listener);
          if (at >= 0) held.splice(at, 1);
          for (const e of emitters) (e as unknown as { _matcher: { remove(f: string, l: Listener): void } })._matcher.remove(s.filter, listener);
        }
        expected.set(s.filter, held);
      }
      for (const [f, held] of expected) for (const e of emitters) expect(names([...listenersOf(e, f)]), f).toEqual(names(held));
    }), { numRuns: 300 });
  });

  it('delivers a message to an exact and a wildcard subscriber through emit', async () => {
    const emitter = leanMqEmitter({ concurrency: 10, matchEmptyLevels: true });
    const got: string[] = [];
    await new Promise<void>((resolve) => emitter.on('s/1/in', (message, done) => { got.push(`exact ${String(message.payload)}`); done(); }, () => resolve()));
    await new Promise<void>((resolve) => emitter.on('s/+/in', (message, done) => { got.push(`wild ${String(message.payload)}`); done(); }, () => resolve()));
    await new Promise<void>((resolve) => emitter.emit({ topic: 's/1/in', payload: 'x' }, () => resolve()));
    expect(got).toEqual(['exact x', 'wild x']);
  });
});
