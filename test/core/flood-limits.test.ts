/**
 * Flood limits in the core (issue 10), on a manual clock: a CONNECT storm from spoofed ports, a REGISTER
 * loop, and forwarded nodes sharing their forwarder's frame rate. The 20,000 frames/s flood against a real
 * Mosquitto is test/e2e/17-flood.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { parseConfig } from '../../gateway/config/config.js';
import { GatewayCore } from '../../gateway/core/core.js';
import { encode } from '../../sn-codec/index.js';
import { MemoryRadio } from '../support/memory-radio.js';
import { RecordingUpstream } from '../support/recording-upstream.js';

function world(limits: string) {
  const config = parseConfig(`gateway: { advertiseInterval: 0 }\nlimits: ${limits}`);
  const clock = new ManualClock();
  const radio = new MemoryRadio();
  const core = new GatewayCore({ gateway: config.gateway, topics: config.topics, upstream: new RecordingUpstream(), clock, limits: config.limits });
  core.addRadio(radio);
  void radio.start(core.radioSink);
  core.start();
  return { clock, radio, core };
}

describe('flood limits in the core', () => {
  it('§6.2 a CONNECT storm from spoofed ports (will handshakes never finished): at most maxConnecting held, the rest CONNACK 0x01', () => {
    const w = world('{ maxConnecting: 50 }');
    for (let port = 1; port <= 2000; port++) {
      w.radio.inject(`udp:10.0.0.1:${port}`, { type: 'CONNECT', will: true, cleanSession: true, duration: 60, clientId: `spoof-${port}` });
    }
    expect(w.core.connectingCount).toBe(50);
    expect(w.core.sessionsById.size).toBe(50);
    expect(w.radio.take('udp:10.0.0.1:2000')).toEqual([{ type: 'CONNACK', returnCode: 1 }]);
    // The half-open ones time out (§6.13) and make room.
    for (let i = 0; i < 45; i++) w.clock.advance(1000);
    expect(w.core.connectingCount).toBe(0);
  });

  it('§6.5 a REGISTER loop: topic ids stop at maxTopicIdsPerClient (REGACK 0x01), memory with them', () => {
    const w = world('{ maxTopicIdsPerClient: 20 }');
    const at = 'udp:10.0.0.2:1';
    w.radio.inject(at, { type: 'CONNECT', will: false, cleanSession: true, duration: 60, clientId: 'looper' });
    w.radio.take(at);
    for (let i = 1; i <= 1000; i++) w.radio.inject(at, { type: 'REGISTER', topicId: 0, msgId: i, topicName: `loop/${i}` });
    const answers = w.radio.take(at) as { returnCode: number }[];
    expect(answers.filter((a) => a.returnCode === 0)).toHaveLength(20);
    expect(answers.filter((a) => a.returnCode === 1)).toHaveLength(980);
    expect(w.core.sessionsById.get('looper')!.topics.size).toBe(20);
  });

  it('nodes behind one forwarder (§5.5) share its frame rate; the bucket refills on the clock', () => {
    const w = world('{ frameRate: 10, frameBurst: 5 }');
    const forwarder = 'udp:10.0.0.3:1';
    for (let node = 0; node < 8; node++) {
      w.radio.inject(forwarder, encode({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.from([node]), message: { type: 'PINGREQ' } }));
    }
    expect(w.core.stats.rateLimited).toBe(3);
    w.clock.advance(500); // 5 tokens
    for (let node = 0; node < 6; node++) {
      w.radio.inject(forwarder, encode({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: Buffer.from([node]), message: { type: 'PINGREQ' } }));
    }
    expect(w.core.stats.rateLimited).toBe(4);
  });
});
