/**
 * MQTT-SN exchanges the issue-4 end-to-end tests repeat: CONNECT with the §6.2 will handshake,
 * SUBSCRIBE, answering the gateway's PUBLISH flows, and reading a retained message off the broker.
 * Each step asserts the frame the gateway must send next, so a wrong order fails where it happens.
 */
import { expect } from 'vitest';
import type { SnUdpPeer } from '../../client/udp-peer.js';
import type { PublishMessage, QoS } from '../../sn-codec/types.js';
import type { GatewayUnderTest } from './harness.js';
import { shortTopicId } from '../../sn-codec/index.js';
import { connect, Observer, until, WAIT_MS, type BrokerMessage } from './harness.js';

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
 * new subscriber with retain=1, whatever the broker does for live deliveries). Waits up to `waitMs` for it.
 */
export async function retainedOn(url: string, topic: string, waitMs = WAIT_MS): Promise<BrokerMessage> {
  const fresh = await Observer.connect(url);
  try {
    await fresh.subscribe(topic, 2);
    return (await fresh.waitFor(1, topic, waitMs))[0]!;
  } finally {
    await fresh.close();
  }
}

// "Nothing happened" is shown by an explicit later event, never by a short silence: on a busy machine a
// silence of any length proves nothing. Each helper sends something whose answer must come next.

/**
 * The gateway has sent this sensor nothing it has not read: its PINGREQ is answered by PINGRESP as the
 * very next frame. The gateway handles one peer's frames in order and answers over one socket, so
 * anything sent before would arrive first (and expect() fails naming it). For a sensor whose session
 * answers PINGREQ (active, awake, asleep: for a sleeping one it is a sign of life, §6.14).
 */
export async function expectNothingPending(sensor: SnUdpPeer): Promise<void> {
  sensor.send({ type: 'PINGREQ' });
  await sensor.expect('PINGRESP');
}

/**
 * For a sensor without a live session (never connected, disconnected, lost, taken over): the gateway has
 * sent it nothing, shown by the CONNACK to a new CONNECT (as `markerClientId`) being the next frame.
 * `handled` (a counter check) first waits until the gateway has taken in what the sensor sent. The marker
 * session then DISCONNECTs, so it takes no client place (maxClients) from later tests.
 */
export async function expectNothingBeforeConnack(sensor: SnUdpPeer, markerClientId: string, handled: () => boolean = () => true): Promise<void> {
  await until(handled, undefined, () => 'the gateway to count what the sensor sent');
  await connect(sensor, markerClientId);
  sensor.send({ type: 'DISCONNECT' });
  await sensor.expect('DISCONNECT');
}

let markers = 0;

/**
 * The broker has passed on everything the gateway published so far: a QoS -1 marker on the short topic
 * `mk` (no session needed) follows it on the gateway's one broker connection, and the observer receives
 * in that order. Then an observer check for a message that must not exist is sound.
 */
export async function brokerCaughtUp(gw: GatewayUnderTest, observer: Observer): Promise<void> {
  const marker = `marker-${++markers}`;
  await observer.subscribe('mk', 1);
  const peer = await gw.sensor();
  peer.send({ type: 'PUBLISH', dup: false, qos: -1, retain: false, topicIdType: 'short', topicId: shortTopicId('mk'), msgId: 0, payload: Buffer.from(marker) });
  await until(() => observer.messages.some((m) => m.topic === 'mk' && m.payload === marker), undefined, () => `marker ${marker} at the observer`);
}
