/** gateway.yaml: the UDP radio's optional `multicast` key (discovery as Paho clients do it). */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../gateway/config/config.js';
import type { UdpRadioConfig } from '../radios/udp.js';

function issues(yaml: string): string[] {
  try {
    parseConfig(yaml, 'gateway.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  throw new Error('accepted');
}

const udp = (yaml: string) => parseConfig(yaml).radios[0] as UdpRadioConfig;

describe('radios[].multicast', () => {
  it('§6.1 absent: no multicast', () => {
    expect(udp('radios: [{ type: udp }]').multicast).toBeUndefined();
  });

  it('§6.1 an empty mapping means Paho\'s defaults: 225.1.1.1:1883, TTL 1, interface from host', () => {
    expect(udp('radios: [{ type: udp, multicast: {} }]').multicast).toEqual({ group: '225.1.1.1', port: 1883, ttl: 1 });
  });

  it('§6.1 every key can be set', () => {
    expect(udp('radios: [{ type: udp, host: 0.0.0.0, multicast: { group: 239.1.2.3, port: 1884, ttl: 3, interface: 192.168.1.10 } }]').multicast)
      .toEqual({ group: '239.1.2.3', port: 1884, ttl: 3, interface: '192.168.1.10' });
  });

  it('a group that is not a multicast address names the key and the line', () => {
    const yaml = 'radios:\n  - type: udp\n    multicast:\n      group: 192.168.1.255\n';
    expect(issues(yaml)).toContainEqual(expect.stringMatching(/^gateway\.yaml:4:\d+ radios\[0\]\.multicast\.group: must be a multicast group address/));
  });

  it('an unknown key under multicast is refused with a suggestion', () => {
    const yaml = 'radios:\n  - type: udp\n    multicast:\n      groupe: 225.1.1.1\n';
    expect(issues(yaml)).toContainEqual(expect.stringMatching(/radios\[0\]\.multicast\.groupe: unknown key for udp multicast; did you mean "group"\?/));
  });

  it('an IPv6 group on an IPv4 radio is refused', () => {
    const yaml = 'radios:\n  - type: udp\n    host: 127.0.0.1\n    multicast: { group: "ff02::1" }\n';
    expect(issues(yaml)).toContainEqual(expect.stringMatching(/radios\[0\]\.multicast\.group: must be of the same IP version as host 127\.0\.0\.1/));
  });

  it('TTL beyond 255 is refused', () => {
    const yaml = 'radios:\n  - type: udp\n    multicast: { ttl: 256 }\n';
    expect(issues(yaml)).toContainEqual(expect.stringMatching(/radios\[0\]\.multicast\.ttl: /));
  });
});
