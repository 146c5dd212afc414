/**
 * Access rules from gateway.yaml (`access:`), compiled once: the first rule whose ClientId pattern and
 * `from` list match a client decides what it may do. No rule for a client: it may not connect.
 * Topic filters may say `{clientId}`, which stands for the client's own ClientId.
 */
import type { AccessRule, AccessSection } from '../config/config-types.js';
import type { AccessPolicy, Requester } from '../core/access-policy.js';
import { topicMatches } from '../core/topics.js';
import { globToRegExp } from './glob.js';
import { filterCovers } from './topic-filters.js';

interface CompiledRule {
  clientId: RegExp;
  /** Radio names or address globs; undefined = from anywhere. */
  from: RegExp[] | undefined;
  /** undefined = any topic. */
  publish: string[] | undefined;
  subscribe: string[] | undefined;
}

/** Rules are looked up per message: remember each client's rule (bounded; rules never change at run time). */
const CACHE_LIMIT = 10_000;

export class AccessRules implements AccessPolicy {
  private readonly rules: CompiledRule[];
  private readonly anonymous: CompiledRule | undefined;
  private readonly ruleOf = new Map<string, CompiledRule | null>();

  constructor(section: AccessSection) {
    // No rules but an `anonymous` entry: every connected client is still allowed everything.
    this.rules = section.rules.length > 0 ? section.rules.map(compile) : [compile({ clientId: '*' })];
    this.anonymous = section.anonymous && compile({ clientId: '*', ...section.anonymous, subscribe: [] });
  }

  mayConnect(who: Requester): boolean {
    return this.find(who) !== undefined;
  }

  mayPublish(who: Requester, topic: string): boolean {
    const rule = this.find(who);
    return rule !== undefined && allows(rule.publish, who.clientId, (f) => topicMatches(f, topic));
  }

  maySubscribe(who: Requester, filter: string): boolean {
    const rule = this.find(who);
    return rule !== undefined && allows(rule.subscribe, who.clientId, (f) => filterCovers(f, filter));
  }

  mayPublishAnonymously(radio: string, address: string, topic: string): boolean {
    const rule = this.anonymous;
    if (rule === undefined) return false;
    return comesFrom(rule, radio, address) && allows(rule.publish, '', (f) => topicMatches(f, topic));
  }

  private find(who: Requester): CompiledRule | undefined {
    const key = `${who.clientId}\u0000${who.radio}\u0000${who.address}`;
    let rule = this.ruleOf.get(key);
    if (rule === undefined) {
      rule = this.rules.find((r) => r.clientId.test(who.clientId) && comesFrom(r, who.radio, who.address)) ?? null;
      if (this.ruleOf.size >= CACHE_LIMIT) this.ruleOf.clear();
      this.ruleOf.set(key, rule);
    }
    return rule ?? undefined;
  }
}

function compile(rule: AccessRule): CompiledRule {
  return {
    clientId: globToRegExp(rule.clientId),
    from: rule.from?.map(globToRegExp),
    publish: rule.publish,
    subscribe: rule.subscribe,
  };
}

function comesFrom(rule: CompiledRule, radio: string, address: string): boolean {
  return rule.from === undefined || rule.from.some((p) => p.test(address) || p.test(radio));
}

function allows(filters: string[] | undefined, clientId: string, test: (filter: string) => boolean): boolean {
  if (filters === undefined) return true;
  // A ClientId such as `x/#` must not widen `sensors/{clientId}` into a wildcard: such ids get no templated filter.
  const templatable = !/[/+#]/.test(clientId);
  return filters.some((f) => {
    if (!f.includes('{clientId}')) return test(f);
    return templatable && test(f.replaceAll('{clientId}', clientId));
  });
}
