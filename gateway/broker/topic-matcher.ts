/**
 * qlobber's add/remove/match (the topic trie of mqemitter and aedes-persistence), with the same matches in the
 * same order, but lean for the filters a gateway's sensors mostly have (issue 13): a filter without wildcards
 * sits in one Map (filter → its value, or values), one whose only wildcard is a final `#` in another, by what
 * precedes the `#`; the trie keeps the filters with `+` only. qlobber keeps every filter in its trie: two Maps
 * and their tables for each topic level no other filter shares, about 450 bytes for a `crowd/<id>/in` filter.
 *
 * The same order as qlobber's, so that aedes hands a message to overlapping subscriptions in the order it did
 * (it delivers the first copy to a client and drops the others by that order). qlobber walks the topic level by level, taking at each level the `#` filter there,
 * then the literal word's subtree, then the `+` subtree. So a topic's matches come as: the `<prefix>/#` filters
 * along its levels, shortest prefix first; the filter equal to the topic (the only filter without wildcards
 * that matches it in qlobber too: matchEmptyLevels concerns `+` alone); then every filter with a `+`, in the
 * trie's order. A `#` anywhere but last (not a valid MQTT filter) is left to the trie.
 * test/broker/lean-mqemitter.test.ts compares the matches with qlobber's for random filters and topics.
 */
import { Qlobber } from 'qlobber';

export interface TopicMatcherOptions { separator: string; wildcardOne: string; wildcardSome: string; matchEmptyLevels: boolean }

/** One value inline, or several in the order added (values are functions or strings, never arrays). */
type Held<T> = T | T[];

function addTo<T>(map: Map<string, Held<T>>, key: string, value: T): void {
  const held = map.get(key);
  if (held === undefined) map.set(key, value);
  else if (Array.isArray(held)) held.push(value);
  else map.set(key, [held, value]);
}

/** As qlobber: without a value, every value of the key; with one, its last occurrence. */
function removeFrom<T>(map: Map<string, Held<T>>, key: string, value: T | undefined): void {
  const held = map.get(key);
  if (held === undefined) return;
  if (value === undefined || held === value) {
    map.delete(key);
  } else if (Array.isArray(held)) {
    const at = held.lastIndexOf(value);
    if (at >= 0) held.splice(at, 1);
    if (held.length === 1) map.set(key, held[0]);
  }
}

function appendTo<T>(matches: T[], held: Held<T> | undefined): void {
  if (held === undefined) return;
  if (Array.isArray(held)) for (const value of held) matches.push(value);
  else matches.push(held);
}

export class TopicMatcher<T extends NonNullable<unknown>> {
  /** Filters without wildcards. */
  private readonly exact = new Map<string, Held<T>>();
  /** Filters whose only wildcard is a final `#`, by what precedes it (`a/b/#` → `a/b/`, `#` → ``). */
  private readonly underPrefix = new Map<string, Held<T>>();
  /** Every other filter (with a `+`). */
  private readonly withPlus: Qlobber<T>;
  /**
   * The first levels of the filters ever added to the trie, or `plusAtFirstLevel` when one began with a
   * wildcard: a topic whose first level none has cannot match any of them (a literal level matches only
   * itself), so it is not split and walked. Never shrinks (qlobber's remove does not say what it removed):
   * at worst a topic is looked up for nothing. aedes's own `$SYS/+/new/clients` keeps the trie from
   * being empty, so without this every message was split into words (issue 13, `crowd`'s profile).
   */
  private readonly plusFirstLevels = new Set<string>();
  private plusAtFirstLevel = false;
  /** Topics looked up in the trie (for tests). */
  trieLookups = 0;

  constructor(private readonly options: TopicMatcherOptions) {
    this.withPlus = new Qlobber({
      separator: options.separator, wildcard_one: options.wildcardOne, wildcard_some: options.wildcardSome, match_empty_levels: options.matchEmptyLevels,
    });
  }

  /** Filters held in the Maps, not the trie (for tests). */
  get filtersInMaps(): number {
    return this.exact.size + this.underPrefix.size;
  }

  /** Where a filter goes, by its levels as qlobber splits them. */
  private kind(filter: string): 'exact' | 'prefix' | 'trie' {
    const { separator, wildcardOne, wildcardSome } = this.options;
    const words = filter.split(separator);
    for (let i = 0; i < words.length; i++) {
      if (words[i] === wildcardOne) return 'trie';
      if (words[i] === wildcardSome) return i === words.length - 1 ? 'prefix' : 'trie';
    }
    return 'exact';
  }

  add(filter: string, value: T): this {
    const kind = this.kind(filter);
    if (kind === 'exact') addTo(this.exact, filter, value);
    else if (kind === 'prefix') addTo(this.underPrefix, filter.slice(0, -this.options.wildcardSome.length), value);
    else {
      this.withPlus.add(filter, value);
      const first = this.firstLevel(filter);
      if (first === this.options.wildcardOne || first === this.options.wildcardSome) this.plusAtFirstLevel = true;
      else this.plusFirstLevels.add(first);
    }
    return this;
  }

  remove(filter: string, value?: T): this {
    const kind = this.kind(filter);
    if (kind === 'exact') removeFrom(this.exact, filter, value);
    else if (kind === 'prefix') removeFrom(this.underPrefix, filter.slice(0, -this.options.wildcardSome.length), value);
    else this.withPlus.remove(filter, value);
    return this;
  }

  /**
   * The values of every filter matching `topic`, in qlobber's order. `exactElsewhere`: for a caller that keeps
   * the filters without wildcards itself, adds theirs where they belong (after the `#` filters, before the `+` ones).
   */
  match(topic: string, exactElsewhere?: (matches: T[]) => void): T[] {
    const matches: T[] = [];
    if (this.underPrefix.size > 0) {
      // `#` stands for its level and every one below: its prefix is any leading run of whole levels,
      // from none (`#`) to all of them (`a/b/#` matches `a/b`).
      const { separator } = this.options;
      appendTo(matches, this.underPrefix.get(''));
      for (let at = topic.indexOf(separator); at !== -1; at = topic.indexOf(separator, at + separator.length)) {
        appendTo(matches, this.underPrefix.get(topic.slice(0, at + separator.length)));
      }
      appendTo(matches, this.underPrefix.get(topic + separator));
    }
    appendTo(matches, this.exact.get(topic));
    exactElsewhere?.(matches);
    // Copied: qlobber's match() hands back its own array of a filter's values when only one filter matched.
    if (this.plusAtFirstLevel || (this.plusFirstLevels.size > 0 && this.plusFirstLevels.has(this.firstLevel(topic)))) {
      this.trieLookups++;
      for (const value of this.withPlus.match(topic)) matches.push(value);
    }
    return matches;
  }

  /** The values added for `filter` itself (not the filters matching it as a topic), in the order added. */
  valuesOf(filter: string): readonly T[] {
    const kind = this.kind(filter);
    if (kind === 'trie') return qlobberValuesOf(this.withPlus, filter, this.options.separator);
    const held = kind === 'exact' ? this.exact.get(filter) : this.underPrefix.get(filter.slice(0, -this.options.wildcardSome.length));
    return held === undefined ? [] : Array.isArray(held) ? held : [held];
  }

  private firstLevel(topicOrFilter: string): string {
    const end = topicOrFilter.indexOf(this.options.separator);
    return end === -1 ? topicOrFilter : topicOrFilter.slice(0, end);
  }
}

/** The values a qlobber holds for `filter` itself, read off its trie (qlobber's documented get_trie()). */
export function qlobberValuesOf<T>(qlobber: Qlobber<T>, filter: string, separator: string): readonly T[] {
  let level: unknown = qlobber.get_trie();
  for (const word of filter.split(separator)) {
    if (!(level instanceof Map)) return [];
    level = level.get(word);
  }
  const values: unknown = level instanceof Map ? level.get(separator) : undefined;
  return Array.isArray(values) ? (values as T[]) : [];
}
