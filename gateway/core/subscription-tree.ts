/**
 * Topic filters → subscribers. Filters without wildcards (most sensors subscribe to their own topic)
 * sit in one Map keyed by the filter: a broker message finds them with one lookup, and each costs one
 * entry rather than a chain of trie nodes. Wildcard filters sit in a trie over topic levels, so a
 * message finds them in time proportional to the topic's depth, not to the number of filters.
 */

/**
 * The subscribers of one filter. Usually one (a sensor's own topic): held inline, no Map; from the
 * second on, all of them in a Map, in the order they came.
 */
class FilterSubscribers<S> {
  private one: S | undefined;
  private oneQos = 0;
  private many: Map<S, number> | undefined;

  constructor(readonly filter: string) {}

  get size(): number {
    return this.many ? this.many.size : this.one === undefined ? 0 : 1;
  }

  /** Adds or updates; returns the count after. */
  set(subscriber: S, qos: number): number {
    if (this.many) this.many.set(subscriber, qos);
    else if (this.one === undefined || this.one === subscriber) {
      this.one = subscriber;
      this.oneQos = qos;
    } else {
      this.many = new Map([[this.one, this.oneQos], [subscriber, qos]]);
      this.one = undefined;
    }
    return this.size;
  }

  /** Removes; returns the count after. */
  delete(subscriber: S): number {
    if (this.many) this.many.delete(subscriber);
    else if (this.one === subscriber) this.one = undefined;
    return this.size;
  }

  collect(out: Match<S>[]): void {
    if (this.many) for (const [subscriber, qos] of this.many) out.push({ subscriber, qos, filter: this.filter });
    else if (this.one !== undefined) out.push({ subscriber: this.one, qos: this.oneQos, filter: this.filter });
  }
}

interface TrieNode<S> {
  children: Map<string, TrieNode<S>>;
  /** Subscribers of the wildcard filter that ends at this node. */
  subscribers: FilterSubscribers<S> | undefined;
}

function node<S>(): TrieNode<S> {
  return { children: new Map(), subscribers: undefined };
}

export interface Match<S> { subscriber: S; qos: number; filter: string }

function isWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}

export class SubscriptionTree<S> {
  /** Filters without wildcards, by filter. */
  private readonly exact = new Map<string, FilterSubscribers<S>>();
  private readonly root: TrieNode<S> = node();
  private wildcardCount = 0;

  /** Number of distinct filters with at least one subscriber. */
  get size(): number {
    return this.exact.size + this.wildcardCount;
  }

  /** Adds or updates a subscriber; returns the filter's subscriber count after the change. */
  add(filter: string, subscriber: S, qos: number): number {
    if (!isWildcard(filter)) {
      let subscribers = this.exact.get(filter);
      if (!subscribers) this.exact.set(filter, (subscribers = new FilterSubscribers(filter)));
      return subscribers.set(subscriber, qos);
    }
    let n = this.root;
    for (const level of filter.split('/')) {
      let child = n.children.get(level);
      if (!child) n.children.set(level, (child = node()));
      n = child;
    }
    if (!n.subscribers) {
      n.subscribers = new FilterSubscribers(filter);
      this.wildcardCount++;
    }
    return n.subscribers.set(subscriber, qos);
  }

  /** Removes a subscriber; returns the filter's subscriber count after the change (0 = filter gone). */
  remove(filter: string, subscriber: S): number {
    if (!isWildcard(filter)) {
      const subscribers = this.exact.get(filter);
      if (!subscribers) return 0;
      const remaining = subscribers.delete(subscriber);
      if (remaining === 0) this.exact.delete(filter);
      return remaining;
    }
    const path: [TrieNode<S>, string][] = [];
    let n: TrieNode<S> | undefined = this.root;
    for (const level of filter.split('/')) {
      path.push([n, level]);
      n = n.children.get(level);
      if (!n) return 0;
    }
    if (!n.subscribers) return 0;
    const remaining = n.subscribers.delete(subscriber);
    if (remaining === 0) {
      n.subscribers = undefined;
      this.wildcardCount--;
      // Prune empty branches so the tree does not grow with churn.
      for (let i = path.length - 1; i >= 0; i--) {
        const [parent, level] = path[i];
        const child = parent.children.get(level)!;
        if (child.subscribers || child.children.size > 0) break;
        parent.children.delete(level);
      }
    }
    return remaining;
  }

  /** Every (subscriber, qos, filter) whose filter matches `topic`. */
  match(topic: string): Match<S>[] {
    const out: Match<S>[] = [];
    this.exact.get(topic)?.collect(out);
    if (this.wildcardCount > 0) this.walk(this.root, topic.split('/'), 0, out, topic.startsWith('$'));
    return out;
  }

  private walk(n: TrieNode<S>, levels: string[], i: number, out: Match<S>[], dollar: boolean): void {
    const skipWildcards = dollar && i === 0;
    const hash = skipWildcards ? undefined : n.children.get('#');
    hash?.subscribers?.collect(out);
    if (i === levels.length) {
      n.subscribers?.collect(out);
      return;
    }
    const exact = n.children.get(levels[i]);
    if (exact) this.walk(exact, levels, i + 1, out, dollar);
    const plus = skipWildcards ? undefined : n.children.get('+');
    if (plus) this.walk(plus, levels, i + 1, out, dollar);
  }
}
