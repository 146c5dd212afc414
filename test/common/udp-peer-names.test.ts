/** UdpPeerNames: the UDP radio's names of the peers heard lately, built once per peer (issue 13). */
import { describe, expect, it } from 'vitest';
import { UdpPeerNames } from '../../common/udp-peer-names.js';
import { SENDER_NAMES_KEPT } from '../../radios/udp.js';

describe('UdpPeerNames', () => {
  it('names IPv4 and IPv6 peers as formatUdpAddress does', () => {
    const names = new UdpPeerNames(10);
    expect(names.name('127.0.0.1', 50123)).toBe('udp:127.0.0.1:50123');
    expect(names.name('::1', 7)).toBe('udp:[::1]:7');
  });

  it('keeps one entry per peer however often it speaks, and tells ports of one host apart', () => {
    const names = new UdpPeerNames(10);
    for (let i = 0; i < 1000; i++) names.name('127.0.0.1', 5000 + (i % 3));
    expect(names.size).toBe(3);
    expect(names.name('127.0.0.1', 5001)).toBe('udp:127.0.0.1:5001');
  });

  it('never holds more than twice its capacity, and still names a peer it forgot', () => {
    const names = new UdpPeerNames(100);
    for (let port = 1; port <= 10_000; port++) names.name('10.0.0.1', port);
    expect(names.size).toBeLessThanOrEqual(200);
    expect(names.name('10.0.0.1', 1)).toBe('udp:10.0.0.1:1');
  });

  it('the UDP radio\'s size keeps 10,000 sensors that take turns: each name is built once, not once per datagram (issue 13, crowd)', () => {
    const names = new UdpPeerNames(SENDER_NAMES_KEPT);
    for (let round = 0; round < 3; round++) for (let port = 1; port <= 10_000; port++) names.name('127.0.0.1', port);
    expect(names.built).toBe(10_000);
  });
});
