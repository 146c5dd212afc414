/**
 * MQTT-SN exchanges the issue-4 end-to-end tests repeat: CONNECT with the §6.2 will handshake,
 * SUBSCRIBE, answering the gateway's PUBLISH flows, and reading a retained message off the broker.
 * Each step asserts the frame the gateway must send next, so a wrong order fails where it happens.
 */
import { expect } from 'vitest';
import type { SnUdpPeer } from '../../client/udp-peer.js';
import type { PublishMessage, QoS } from '../../sn-codec/types.js';
import type { GatewayUnderTest } from './harness.js';
import { Observer, until, type BrokerMessage } from './harness.js';

export interface WillSpec { topic: string; message: string; qos: QoS; retain: boolean }

/** §6.2 CONNECT(Will=1) → WILLTOPICREQ → WILLTOPIC → WILLMSGREQ → WILLMSG → CONNACK accepted. */
export async function connectWithWill(
  sensor: SnUdpPeer, clientId: string, will: WillSpec, options: { duration?: number; cleanSession?: boolean } = {},
): Promise<void> {
  sensor.send({ type: 'CONNECT', will: true, cleanSession: options.cleanSession ?? true, duration: options.duration ?? 60, clientId });
  await sensor.expect('WILLTOPICREQ');
  sensor.send({ type: 'WILLTOPIC', qos: will.qos, retain: will.retain, willTopic: will.topic });
  await sensor.expect('WILLMSGREQ');
  sensor.send({ type: 'WILLMSG', willMsg: Buffer.from(will.message) });
  const connack = await sensor.expect('CONNACK');
  expect(connack.returnCode).toBe(0);
}

/** SUBSCRIBE by topic name; returns the SUBACK (topic id 0 for wildcards). */
export async function subscribe(sensor: SnUdpPeer, topicName: string, qos: 0 | 1 | 2 = 1, msgId = 100): Promise<{ topicId: number; qos: number }> {
  sensor.send({ type: 'SUBSCRIBE', dup: false, qos, msgId, topic: { topicIdType: 'normal', topicName } });
  const suback = await sensor.expect('SUBACK');
  expect(suback).toMatchObject({ msgId, returnCode: 0 });
  return { topicId: suback.topicId, qos: suback.qos };
}

/** Expects the gateway's next PUBLISH and completes its QoS flow as a well-behaved client (§6.10). */
export async function receivePublish(sensor: SnUdpPeer): Promise<PublishMessage> {
  const publish = await sensor.expect('PUBLISH');
  if (publish.qos === 1) {
    sensor.send({ type: 'PUBACK', topicId: publish.topicId, msgId: publish.msgId, returnCode: 0 });
  } else if (publish.qos === 2) {
    sensor.send({ type: 'PUBREC', msgId: publish.msgId });
    const pubrel = await sensor.expect('PUBREL');
    expect(pubrel.msgId).toBe(publish.msgId);
    sensor.send({ type: 'PUBCOMP', msgId: publish.msgId });
  }
  return publish;
}

/** Waits until the gateway has taken in what the sensor sent (no reply to wait for, e.g. a PUBACK). */
export async function settled(gw: GatewayUnderTest, clientId: string, check: (c: NonNullable<ReturnType<GatewayUnderTest['gateway']['core']['client']>>) => boolean): Promise<void> {
  await until(() => {
    const c = gw.gateway.core.client(clientId);
    return c !== undefined && check(c);
  }, undefined, () => `client ${clientId}: ${JSON.stringify(gw.gateway.core.client(clientId))}`);
}

/**
 * What the broker holds as retained on `topic`, seen by a fresh subscriber (a retained message reaches a
 * new subscriber with retain=1, whatever the broker does for live deliveries). Undefined when none comes.
 */
export async function retainedOn(url: string, topic: string, waitMs = 1000): Promise<BrokerMessage | undefined> {
  const fresh = await Observer.connect(url);
  try {
    await fresh.subscribe(topic, 2);
    return await fresh.waitFor(1, topic, waitMs).then((m) => m[0], () => undefined);
  } finally {
    await fresh.close();
  }
}

/** Lets datagrams and broker traffic in flight land, before checking that something did NOT happen. */
export function settle(ms = 300): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
