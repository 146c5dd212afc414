/**
 * The prompt TCP acknowledgement (gateway/broker/prompt-ack.ts, issue 13): a broker that keeps Nagle's
 * algorithm on (Mosquitto's default) holds its second PUBACK until the first is acknowledged, and Linux
 * delays that acknowledgement ~40 ms when the gateway has nothing to write. The rule, on fake timers
 * first; then on a real Mosquitto over TCP, with several sensors' messages in flight at once.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { PINGREQ_PACKET, PromptAck } from '../../gateway/broker/prompt-ack.js';
import { MqttUpstream } from '../../gateway/broker/mqtt-upstream.js';
import { parseConfig } from '../../gateway/config/config.js';
import type { PublishResult } from '../../gateway/broker/upstream.js';
import { startMosquitto, type RunningBroker } from '../support/mosquitto.js';
import { until } from '../support/harness.js';

describe('PromptAck: when the gateway writes a PINGREQ for its acknowledgement', () => {
  let awaiting: boolean;
  let pings: number;
  let promptAck: PromptAck;
  beforeEach(() => {
    vi.useFakeTimers();
    awaiting = true;
    pings = 0;
    promptAck = new PromptAck(() => awaiting, () => pings++, 1);
  });
  afterEach(() => {
    promptAck.stop();
    vi.useRealTimers();
  });

  it('a read while answers are owed, then nothing written for 1 ms: one PINGREQ', () => {
    promptAck.read();
    vi.advanceTimersByTime(1);
    expect(pings).toBe(1);
    expect(promptAck.sent).toBe(1);
  });

  it('several reads before the delay ends: still one PINGREQ', () => {
    for (let i = 0; i < 5; i++) promptAck.read();
    vi.advanceTimersByTime(5);
    expect(pings).toBe(1);
  });

  it('a read after a PINGREQ went arms the timer again', () => {
    promptAck.read();
    vi.advanceTimersByTime(1);
    promptAck.read();
    vi.advanceTimersByTime(1);
    expect(pings).toBe(2);
  });

  it('a write after the read carried the acknowledgement: no PINGREQ', () => {
    promptAck.read();
    promptAck.wrote();
    vi.advanceTimersByTime(5);
    expect(pings).toBe(0);
  });

  it('a read after that write is acknowledged when the delay ends (the write did not carry it)', () => {
    promptAck.read();
    promptAck.wrote();
    promptAck.read();
    vi.advanceTimersByTime(1);
    expect(pings).toBe(1);
  });

  it('nothing owed by the broker: a read arms nothing (one message in flight at a time never pings)', () => {
    awaiting = false;
    promptAck.read();
    awaiting = true;
    vi.advanceTimersByTime(5);
    expect(pings).toBe(0);
  });

  it('every answer came before the delay ended: no PINGREQ', () => {
    promptAck.read();
    awaiting = false;
    vi.advanceTimersByTime(5);
    expect(pings).toBe(0);
  });

  it('stop() cancels a PINGREQ still to come', () => {
    promptAck.read();
    promptAck.stop();
    vi.advanceTimersByTime(5);
    expect(pings).toBe(0);
  });

  it('MQTT 3.1.1 §3.12: the packet written is a PINGREQ with Remaining Length 0', () => {
    expect([...PINGREQ_PACKET]).toEqual([0xc0, 0x00]);
  });
});

describe('prompt acknowledgement on a real Mosquitto (Nagle on, its default)', () => {
  let mosquitto: RunningBroker;
  beforeAll(async () => {
    mosquitto = await startMosquitto();
  });
  afterAll(async () => {
    await mosquitto.stop();
  });

  async function withUpstream(run: (upstream: MqttUpstream) => Promise<void>): Promise<void> {
    const config = parseConfig(`broker: { url: ${mosquitto.url}, clientId: prompt-${process.pid}-${Math.random().toString(16).slice(2, 8)} }\nhttp: false\nstatus: false\n`, 'prompt.yaml');
    const upstream = new MqttUpstream({ url: mosquitto.url, broker: config.broker, maxQueued: 1000 });
    await upstream.start({ message: () => undefined, connectionChanged: () => {}, log: () => {} });
    try {
      await until(() => upstream.connected);
      await run(upstream);
    } finally {
      await upstream.stop();
    }
  }

  /** `perRound` QoS 1 publishes in one turn; the next round once all are acknowledged. */
  async function rounds(upstream: MqttUpstream, count: number, perRound: number): Promise<PublishResult[]> {
    const results: PublishResult[] = [];
    for (let round = 0; round < count; round++) {
      await new Promise<void>((resolve) => {
        let answered = 0;
        for (let i = 0; i < perRound; i++) {
          upstream.publish(`prompt/${i}`, Buffer.from(`r${round}`), 1, false, (result) => {
            results.push(result);
            if (++answered === perRound) resolve();
          });
        }
      });
    }
    return results;
  }

  it('MQTT 3.1.1 §3.4: five QoS 1 messages at a time, round after round: PINGREQs carry the acknowledgement, all are acknowledged on one connection', async () => {
    await withUpstream(async (upstream) => {
      const results = await rounds(upstream, 60, 5);
      expect(results).toHaveLength(300);
      expect(results.every((r) => r.error === undefined)).toBe(true);
      // The broker held a PUBACK behind the first of a round in most rounds; 60 rounds without one would
      // mean the mechanism is not wired (or the broker no longer uses Nagle's algorithm).
      expect(upstream.promptAck.sent).toBeGreaterThan(0);
      // mqtt.js took the PINGRESPs in its stride: no reconnection, nothing left in flight.
      expect(upstream.connections).toBe(1);
      expect(upstream.pending).toBe(0);
    });
  });

  it('MQTT 3.1.1 §3.4: one QoS 1 message at a time: nothing is owed after each PUBACK, no PINGREQ is written', async () => {
    await withUpstream(async (upstream) => {
      const results = await rounds(upstream, 60, 1);
      expect(results.every((r) => r.error === undefined)).toBe(true);
      expect(upstream.promptAck.sent).toBe(0);
    });
  });
});
