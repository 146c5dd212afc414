/**
 * aedes's message router (its `mq` option: an mqemitter) with a leaner topic matcher (issue 13): mqemitter's
 * own, with its qlobber trie replaced by topic-matcher.ts (exact filters and final-`#` filters in Maps, the
 * same matches in the same order), so that a sensor's subscription costs a Map entry, not trie nodes.
 *
 * mqemitter has no option for its matcher: its `_matcher` field (mqemitter 7) is replaced. Where that field
 * is missing (a future mqemitter), the stock matcher stays; test/broker/lean-mqemitter.test.ts fails then, and
 * runs mqemitter's own abstract test suite on this emitter.
 */
import mqemitter from 'mqemitter';
import { qlobberValuesOf, TopicMatcher } from './topic-matcher.js';
import type { Qlobber } from 'qlobber';

export type Listener = (message: mqemitter.Message, done: () => void) => void;

export interface LeanMqEmitterOptions { concurrency?: number; matchEmptyLevels?: boolean; separator?: string; wildcardOne?: string; wildcardSome?: string }

/** An mqemitter whose matcher is a TopicMatcher; mqemitter's own where it cannot be swapped. */
export function leanMqEmitter(options: LeanMqEmitterOptions = {}): mqemitter.MQEmitter {
  const emitter = mqemitter(options);
  const internals = emitter as unknown as { _matcher?: { add?: unknown; remove?: unknown; match?: unknown } };
  const stock = internals._matcher;
  if (stock && typeof stock.add === 'function' && typeof stock.remove === 'function' && typeof stock.match === 'function') {
    // mqemitter's defaults (mqemitter.js).
    internals._matcher = new TopicMatcher<Listener>({
      separator: options.separator ?? '/', wildcardOne: options.wildcardOne ?? '+', wildcardSome: options.wildcardSome ?? '#', matchEmptyLevels: options.matchEmptyLevels ?? true,
    });
  }
  return emitter;
}

/**
 * The listeners `emitter` holds for `filter` itself (those added with on(filter, …) and not yet removed), from its
 * TopicMatcher, or from mqemitter's own qlobber where leanMqEmitter could not swap it.
 */
export function listenersOf(emitter: mqemitter.MQEmitter, filter: string): readonly Listener[] {
  const matcher = (emitter as unknown as { _matcher?: unknown })._matcher;
  if (matcher instanceof TopicMatcher) return (matcher as TopicMatcher<Listener>).valuesOf(filter);
  if (matcher && typeof (matcher as Qlobber<Listener>).get_trie === 'function') return qlobberValuesOf(matcher as Qlobber<Listener>, filter, '/');
  return [];
}
