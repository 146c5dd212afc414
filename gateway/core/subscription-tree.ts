/**
 * Topic filters → subscribers, as a trie over topic levels, so a broker message finds its
 * subscribers in time proportional to the topic's depth, not to the number of filters.
 */
interface TrieNode<S> {
  children: Map<string, TrieNode<S>>;
  /** Subscribers of the filter that ends at this node, with their QoS. */
  subscribers: Map<S, number> | undefined;
  filter: string | undefined;
}

function node<S>(): TrieNode<S> {
  return { children: new Map(), subscribers: undefined, filter: undefined };
}

export interface Match<S> { subscriber: S; qos: number; filter: string }

export class SubscriptionTree<S> {
  private readonly root: TrieNode<S> = node();
  private filterCount = 0;

  /** Number of distinct filters with at least one subscriber. */
  get size(): number {
    return this.filterCount;
  }

  /** Adds or updates a subscriber; returns the filter's subscriber count after the change. */
  add(filter: string, subscriber: S, qos: number): number {
    let n = this.root;
    for (const level of filter.split('/')) {
      let child = n.children.get(level);
      if (!child) n.children.set(level, (child = node()));
      n = child;
    }
    if (!n.subscribers) {
      n.subscribers = new Map();
      n.filter = filter;
      this.filterCount++;
    }
    n.subscribers.set(subscriber, qos);
    return n.subscribers.size;
  }

  /** Removes a subscriber; returns the filter's subscriber count after the change (0 = filter gone). */
  remove(filter: string, subscriber: S): number {
    const path: [TrieNode<S>, string][] = [];
    let n: TrieNode<S> | undefined = this.root;
    for (const level of filter.split('/')) {
      path.push([n, level]);
      n = n.children.get(level);
      if (!n) return 0;
    }
    if (!n.subscribers) return 0;
    n.subscribers.delete(subscriber);
    const remaining = n.subscribers.size;
    if (remaining === 0) {
      n.subscribers = undefined;
      n.filter = undefined;
      this.filterCount--;
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
    const levels = topic.split('/');
    const dollar = topic.startsWith('$');
    this.walk(this.root, levels, 0, out, dollar);
    return out;
  }

  private walk(n: TrieNode<S>, levels: string[], i: number, out: Match<S>[], dollar: boolean): void {
    const skipWildcards = dollar && i === 0;
    const hash = skipWildcards ? undefined : n.children.get('#');
    if (hash?.subscribers) this.collect(hash, out);
    if (i === levels.length) {
      if (n.subscribers) this.collect(n, out);
      return;
    }
    const exact = n.children.get(levels[i]);
    if (exact) this.walk(exact, levels, i + 1, out, dollar);
    const plus = skipWildcards ? undefined : n.children.get('+');
    if (plus) this.walk(plus, levels, i + 1, out, dollar);
  }

  private collect(n: TrieNode<S>, out: Match<S>[]): void {
    for (const [subscriber, qos] of n.subscribers!) out.push({ subscriber, qos, filter: n.filter! });
  }
}
