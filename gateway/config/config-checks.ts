/**
 * The value checks JSON Schema cannot say exactly, named by the schema's `check` keyword
 * (gateway/config/config-schema.ts) and run after the schema pass. The schema's coarser `pattern` lets
 * editors flag most mistakes as they are typed; these give the gateway's exact rule and message.
 */
import { isIP } from 'node:net';
import type { CheckName } from './config-schema.js';
import { describe } from './config-issues.js';
import { isValidTopicFilter } from '../core/topics.js';
import { PLACEHOLDERS, unknownPlaceholders } from '../core/topic-template.js';

/** The value to use (a check may complete it, as the status prefix's '/'), or why it is refused. */
export type CheckResult = { value: string } | { refused: string };

const ok = (value: string): CheckResult => ({ value });
const refuse = (refused: string): CheckResult => ({ refused });

export const CHECKS: Record<CheckName, (value: string) => CheckResult> = {
  /** An IP address or a host name (catches "127.0.0.1:10000", which belongs in two keys). */
  host: (value) =>
    isIP(value) !== 0 || /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(value)
      ? ok(value)
      : refuse(`must be an IP address or a host name (got ${describe(value)})`),

  /** Radio names appear in metric labels, addresses and access rules, so they keep to a few characters. */
  radioName: (name) => (/^[A-Za-z0-9_.-]+$/.test(name) ? ok(name) : refuse(`must use only letters, digits, '_', '.' and '-' (got ${JSON.stringify(name)})`)),

  ipAddress: (value) => (isIP(value) !== 0 ? ok(value) : refuse(`must be the IP address of a local interface (got ${JSON.stringify(value)})`)),

  /** 224.0.0.0/4 for IPv4, ff00::/8 for IPv6. */
  multicastGroup: (group) => {
    const family = isIP(group);
    const first = Number(group.split('.')[0]);
    const multicast = family === 4 ? first >= 224 && first <= 239 : family === 6 && /^ff/i.test(group);
    return multicast ? ok(group) : refuse(`must be a multicast group address, 224.0.0.0 to 239.255.255.255 or ff00::/8 (got ${JSON.stringify(group)})`);
  },

  brokerUrl: (url) => {
    const protocols = ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:'];
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return refuse(`must be a URL such as mqtt://127.0.0.1:1883 (got ${JSON.stringify(url)})`);
    }
    if (!protocols.includes(parsed.protocol)) return refuse(`must use one of ${protocols.map((p) => `${p}//`).join(', ')} (got ${JSON.stringify(url)})`);
    return ok(url);
  },

  /** What a client publishes to by id: one concrete topic name, or a template that becomes one per client. */
  topicName: (name) => {
    if (/[+#]/.test(name)) return refuse(`a predefined topic must be a concrete name, without the wildcards '+' or '#' (got ${JSON.stringify(name)})`);
    const unknown = unknownPlaceholders(name);
    if (unknown.length > 0) {
      const known = PLACEHOLDERS.map((p) => `{${p}}`).join(' and ');
      return refuse(`unknown placeholder ${unknown.map((p) => `{${p}}`).join(', ')}: a topic template may use ${known} (got ${JSON.stringify(name)})`);
    }
    if (name.includes('\u0000')) return refuse('a topic name must not contain the NUL character');
    if (Buffer.byteLength(name, 'utf8') > 65535) return refuse('a topic name must fit in 65535 bytes of UTF-8');
    return ok(name);
  },

  /** A topic prefix for the status topics: no wildcards; a missing trailing '/' is added. */
  statusPrefix: (prefix) => {
    if (/[+#\u0000]/.test(prefix)) return refuse(`must be a topic prefix without '+', '#' or NUL (got ${JSON.stringify(prefix)})`);
    return ok(prefix.endsWith('/') ? prefix : prefix + '/');
  },

  /** A topic filter in an access rule; `{clientId}` may stand for a whole level or part of one. */
  ruleFilter,

  anonymousFilter: (filter) => {
    const checked = ruleFilter(filter);
    if ('refused' in checked) return checked;
    return filter.includes('{clientId}') ? refuse('a sender that never connected has no ClientId: {clientId} means nothing here') : checked;
  },
};

function ruleFilter(filter: string): CheckResult {
  const concrete = filter.replaceAll('{clientId}', 'x');
  if (/\{\w*\}/.test(concrete)) return refuse(`only {clientId} may be templated (got ${JSON.stringify(filter)})`);
  return isValidTopicFilter(concrete) ? ok(filter) : refuse(`must be an MQTT topic filter: '+' and '#' alone in their level, '#' last (got ${JSON.stringify(filter)})`);
}
