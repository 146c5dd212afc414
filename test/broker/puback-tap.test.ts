/**
 * The aggregating upstream reads the PUBACKs of its own QoS 1 publishes before mqtt.js's parser
 * (gateway/broker/puback-tap.ts, issue 13). That rests on two of mqtt.js's insides: the stream builder it
 * keeps in a private field, and its reading the stream with pipe(). These tests fail if mqtt.js changes
 * either (the PUBACKs would then all come through mqtt.js, counted apart), on a real Mosquitto over TCP,
 * across a reconnection, and on the embedded broker's in-memory connection.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config/config.js';
import { MqttUpstream } from '../../gateway/broker/mqtt-upstream.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/broker/embedded-broker.js';
import type { PublishResult } from '../../gateway/broker/upstream.js';
import { startMosquitto, type RunningBroker } from '../support/mosquitto.js';
import { until } from '../support/harness.js';

function upstreamTo(url: string, connect?: EmbeddedBroker['connect']): MqttUpstream {
  const config = parseConfig(`broker: { url: ${url}, clientId: tap-${process.pid}-${Math.random().toString(16).slice(2, 8)}, reconnectMin: 0.1, reconnectMax: 0.2 }\nhttp: false\nstatus: false\n`, 'tap.yaml');
  return new MqttUpstream({ url, connect, broker: config.broker, maxQueued: 1000 });
}

/** Publishes `count` QoS 1 messages and waits until the broker acknowledged them all. */
async function publishAll(upstream: MqttUpstream, count: number): Promise<PublishResult[]> {
  const results: PublishResult[] = [];
  for (let i = 0; i < count; i++) {
    expect(upstream.publish(`tap/${i}`, Buffer.from(`m${i}`), 1, false, (result) => results.push(result))).toBe(true);
  }
  await until(() => results.length === count, 10_000, () => `${results.length}/${count} acknowledged`);
  return results;
}

describe('PUBACKs read before mqtt.js\'s parser (issue 13)', () => {
  let mosquitto: RunningBroker;
  beforeAll(async () => {
    mosquitto = await startMosquitto();
  });
  afterAll(async () => {
    await mosquitto.stop();
  });

  it('MQTT 3.1.1 §3.4: every PUBACK for our QoS 1 publishes over TCP is taken before mqtt.js parses it', async () => {
    const upstream = upstreamTo(mosquitto.url);
    await upstream.start({ message: () => undefined, connectionChanged: () => {}, log: () => {} });
    try {
      await until(() => upstream.connected);
      const results = await publishAll(upstream, 50);
      expect(results.every((r) => r.error === undefined)).toBe(true);
      expect(upstream.pubacksReadFirst).toBe(50);
      expect(upstream.pending).toBe(0);
    } finally {
      await upstream.stop();
    }
  });

  it('MQTT 3.1.1 §3.4: the connection made after the broker came back is read the same way', async () => {
    const upstream = upstreamTo(mosquitto.url);
    const changes: boolean[] = [];
    await upstream.start({ message: () => undefined, connectionChanged: (up) => changes.push(up), log: () => {} });
    try {
      await until(() => upstream.connected);
      await publishAll(upstream, 10);
      await mosquitto.kill();
      await until(() => changes.includes(false));
      await mosquitto.restart();
      await until(() => upstream.connected && upstream.connections === 2);
      await publishAll(upstream, 10);
      expect(upstream.pubacksReadFirst).toBe(20);
    } finally {
      await upstream.stop();
    }
  });

  it('MQTT 3.1.1 §3.4: the embedded broker\'s in-memory connection is read the same way', async () => {
    const embedded = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
    const upstream = upstreamTo(embedded.url, embedded.connect);
    await upstream.start({ message: () => undefined, connectionChanged: () => {}, log: () => {} });
    try {
      await until(() => upstream.connected);
      await publishAll(upstream, 30);
      expect(upstream.pubacksReadFirst).toBe(30);
    } finally {
      await upstream.stop();
      await embedded.close();
    }
  });
});
