/** The access rules' pieces on their own: globs, filter coverage, {clientId} templates, rule order. */
import { describe, expect, it } from 'vitest';
import { AccessRules } from '../../gateway/access/access-rules.js';
import { globToRegExp } from '../../gateway/access/glob.js';
import { filterCovers } from '../../gateway/access/topic-filters.js';
import { parseConfig, ConfigError } from '../../gateway/config/config.js';

const who = (clientId: string, address = 'udp:127.0.0.1:5000', radio = 'udp0') => ({ clientId, radio, address });

describe('glob patterns for ClientIds and addresses', () => {
  it('* spans any characters, : and / included; ? is exactly one', () => {
    expect(globToRegExp('xbee:0013a200*').test('xbee:0013a20040a1b2c3')).toBe(true);
    expect(globToRegExp('serial:*').test('serial:/dev/ttyACM0')).toBe(true);
    expect(globToRegExp('udp:192.168.1.*').test('udp:192.168.10.5:1')).toBe(false);
    expect(globToRegExp('node-?').test('node-10')).toBe(false);
    expect(globToRegExp('a.b').test('aXb')).toBe(false); // regex characters are literal
  });
});

describe('filterCovers: a SUBSCRIBE must stay within an allowed filter', () => {
  it.each([
    ['a/#', 'a/b/c', true], ['a/#', 'a/+/c', true], ['a/#', 'a/#', true], ['a/#', 'a', true],
    ['a/+', 'a/b', true], ['a/+', 'a/+', true], ['a/+', 'a/#', false], ['a/b', 'a/+', false],
    ['a/+/c', 'a/#', false], ['#', '$SYS/x', false], ['+/x', 'b/x', true], ['a/b', 'a/b/c', false],
  ])('%s covers %s: %s', (allowed, requested, expected) => {
    expect(filterCovers(allowed, requested)).toBe(expected);
  });
});

describe('AccessRules', () => {
  const rules = (yaml: string) => new AccessRules(parseConfig(yaml, 'a.yaml').access);

  it('the first rule matching ClientId and address decides', () => {
    const r = rules(`
access:
  rules:
    - { clientId: 'x-*', from: ['udp:10.*'], publish: [] }
    - { clientId: 'x-*', publish: ['t/#'] }
`);
    expect(r.mayPublish(who('x-1', 'udp:10.0.0.1:1'), 't/a')).toBe(false);
    expect(r.mayPublish(who('x-1'), 't/a')).toBe(true);
  });

  it('a ClientId with / + or # gets no {clientId} filter (it could widen it into a wildcard)', () => {
    const r = rules(`
access:
  rules:
    - { clientId: '*', publish: ['s/{clientId}/t'], subscribe: ['c/{clientId}'] }
`);
    expect(r.mayPublish(who('n1'), 's/n1/t')).toBe(true);
    expect(r.maySubscribe(who('+'), 'c/+')).toBe(false);
    expect(r.maySubscribe(who('#'), 'c/#')).toBe(false);
  });

  it('with rules but no anonymous entry, QoS -1 from unconnected senders is refused', () => {
    const r = rules(`access: { rules: [ { clientId: a } ] }`);
    expect(r.mayPublishAnonymously('udp0', 'udp:127.0.0.1:1', 'x')).toBe(false);
    expect(r.mayConnect(who('b'))).toBe(false);
  });

  it('an anonymous entry alone leaves connected clients unrestricted', () => {
    const r = rules(`access: { anonymous: { from: [udp0], publish: ['q/#'] } }`);
    expect(r.mayConnect(who('anyone'))).toBe(true);
    expect(r.mayPublish(who('anyone'), 'z')).toBe(true);
    expect(r.mayPublishAnonymously('udp0', 'udp:1.2.3.4:1', 'q/1')).toBe(true);
    expect(r.mayPublishAnonymously('udp1', 'udp:1.2.3.4:1', 'q/1')).toBe(false);
  });
});

describe('access rules in gateway.yaml', () => {
  it('an invalid filter names the key and its line', () => {
    const yaml = 'access:\n  rules:\n    - clientId: a\n      publish: ["a/#/b"]\n';
    expect(() => parseConfig(yaml, 'g.yaml')).toThrow(ConfigError);
    expect(() => parseConfig(yaml, 'g.yaml')).toThrow(/g\.yaml:4:\d+ access\.rules\[0\]\.publish\[0\]: must be an MQTT topic filter/);
  });

  it('{clientId} is the only template, and means nothing for anonymous senders', () => {
    expect(() => parseConfig('access: { rules: [ { clientId: a, subscribe: ["x/{node}"] } ] }', 'g.yaml')).toThrow(/only \{clientId\} may be templated/);
    expect(() => parseConfig('access: { anonymous: { publish: ["x/{clientId}"] } }', 'g.yaml')).toThrow(/access\.anonymous\.publish\[0\]: a sender that never connected/);
  });

  it('a rule without clientId is an error', () => {
    expect(() => parseConfig('access: { rules: [ { publish: [a] } ] }', 'g.yaml')).toThrow(/access\.rules\[0\]\.clientId: required/);
  });
});
