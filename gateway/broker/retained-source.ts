/**
 * Retained messages that the embedded broker renders when a subscriber asks, instead of storing what was
 * published (issue 13: the gateway's retained status topic of each sensor, `<prefix>clients/<ClientId>`,
 * was the largest thing the embedded broker kept per sensor). The source owns a set of topics: one level
 * under a fixed prefix. Nothing published to an owned topic is stored, whoever publishes it: live
 * subscribers get the message as usual, and a later subscriber gets what the source says then.
 */
export interface RetainedSource {
  /** Whether `topic` is the source's: its retained message is rendered, never stored. */
  owns(topic: string): boolean;
  /** Whether a filter with wildcards could match any topic the source owns (false: the source is not asked). */
  mayMatch(filter: string): boolean;
  /** The retained message of an owned topic now; undefined: there is none. */
  payload(topic: string): Buffer | undefined;
  /** Every owned topic that has a retained message now. */
  topics(): Iterable<string>;
}

/**
 * Whether `filter` (MQTT wildcards) could match a topic made of `prefixLevels` and then exactly one more
 * level: a cheap test on levels that saves a pass over the source's topics for filters far from them.
 * It may say yes where the full match says no (the matcher has the last word); never the other way.
 */
export function mayMatchOneLevelUnder(filter: string, prefixLevels: readonly string[]): boolean {
  const levels = filter.split('/');
  const n = prefixLevels.length;
  for (let i = 0; i < n; i++) {
    if (i >= levels.length) return false;
    if (levels[i] === '#') return true;
    if (levels[i] !== '+' && levels[i] !== prefixLevels[i]) return false;
  }
  if (levels.length <= n) return false;
  if (levels[n] === '#') return true;
  // `<prefix>/x/#` matches `<prefix>/x` too (MQTT 3.1.1 §4.7.1.2: # includes the parent level).
  return levels.length === n + 1 || (levels.length === n + 2 && levels[n + 1] === '#');
}
