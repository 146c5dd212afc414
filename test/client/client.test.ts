import { describe, expect, it } from 'vitest';
import { MqttSnClient, SnRejectedError, SnTimeoutError, type ReceivedMessage } from '../../client/client.js';
import { SnUdpPeer } from '../../client/udp-peer.js';
import { shortTopicId } from '../../sn-codec/index.js';
import { startFakeGateway, type FakeGateway } from './fake-gateway.js';
import { WAIT_MS } from '../support/wait.js';
import { cleanupsAfterEach } from '../support/cleanups.js';

const cleanups = cleanupsAfterEach();

async function setup(options: ConstructorParameters<typeof MqttSnClient>[1] = {}): Promise<{ gw: FakeGateway; client: MqttSnClient }> {
  const gw = await startFakeGateway();
  cleanups.push(() => gw.close());
  const client = await MqttSnClient.open({ gateway: { port: gw.port }, retryInterval: WAIT_MS, ...options });
  cleanups.push(() => client.close());
  return { gw, client };
}

async function connected(options: ConstructorParameters<typeof MqttSnClient>[1] = {}): Promise<{ gw: FakeGateway; client: MqttSnClient }> {
  const { gw, client } = await setup(options);
  const connecting = client.connect({ clientId: 'sensor-1' });
  await gw.peer.expect('CONNECT');
  gw.peer.reply({ type: 'CONNACK', returnCode: 0 });
  await connecting;
  return { gw, client };
}

function nextMessage(client: MqttSnClient): Promise<ReceivedMessage> {
  return new Promise((resolve) => client.once('message', resolve));
}

describe('MqttSnClient: connect', () => {
  it('§6.2 CONNECT with a will answers WILLTOPICREQ and WILLMSGREQ, then takes CONNACK', async () => {
    const { gw, client } = await setup();
    const connecting = client.connect({ clientId: 'sensor-1', keepAlive: 30, cleanSession: false, will: { topic: 'status/sensor-1', message: 'gone', qos: 1, retain: true } });
    expect(await gw.peer.expect('CONNECT')).toEqual({ type: 'CONNECT', will: true, cleanSession: false, duration: 30, clientId: 'sensor-1' });
    gw.peer.reply({ type: 'WILLTOPICREQ' });
    expect(await gw.peer.expect('WILLTOPIC')).toEqual({ type: 'WILLTOPIC', qos: 1, retain: true, willTopic: 'status/sensor-1' });
    gw.peer.reply({ type: 'WILLMSGREQ' });
    expect(await gw.peer.expect('WILLMSG')).toEqual({ type: 'WILLMSG', willMsg: Buffer.from('gone') });
    gw.peer.reply({ type: 'CONNACK', returnCode: 0 });
    await connecting;
    expect(client.connected).toBe(true);
  });

  it('§6.2 CONNACK congestion (0x01) rejects with the return code', async () => {
    const { gw, client } = await setup();
    const connecting = client.connect({ clientId: 'sensor-1' });
    await gw.peer.expect('CONNECT');
    gw.peer.reply({ type: 'CONNACK', returnCode: 0x01 });
    await expect(connecting).rejects.toSatisfy((err) => err instanceof SnRejectedError && err.returnCode === 0x01);
    expect(client.connected).toBe(false);
  });

  it('§6.13 an unanswered CONNECT is resent, then fails with a timeout error naming CONNACK', async () => {
    const { gw, client } = await setup({ retryInterval: 50, retryCount: 2 });
    const connecting = client.connect({ clientId: 'sensor-1' });
    const failure = connecting.catch((err: unknown) => err);
    for (let i = 0; i < 3; i++) await gw.peer.expect('CONNECT');
    const err = await failure;
    expect(err).toBeInstanceOf(SnTimeoutError);
    expect((err as Error).message).toMatch(/no CONNACK from the gateway after 3 attempts/);
  });
});

describe('MqttSnClient: publish', () => {
  it('§6.5/§6.6 a topic name is REGISTERed once, then PUBLISH QoS 1 waits for PUBACK', async () => {
    const { gw, client } = await connected();
    const first = client.publish('home/kitchen/temp', '21.5', { qos: 1 });
    const register = await gw.peer.expect('REGISTER');
    expect(register).toMatchObject({ topicId: 0, topicName: 'home/kitchen/temp' });
    gw.peer.reply({ type: 'REGACK', topicId: 7, msgId: register.msgId, returnCode: 0 });
    const publish = await gw.peer.expect('PUBLISH');
    expect(publish).toEqual({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: 7, msgId: publish.msgId, payload: Buffer.from('21.5') });
    expect(publish.msgId).not.toBe(0);
    gw.peer.reply({ type: 'PUBACK', topicId: 7, msgId: publish.msgId, returnCode: 0 });
    await first;

    const second = client.publish('home/kitchen/temp', '21.6', { qos: 0, retain: true });
    expect(await gw.peer.expect('PUBLISH')).toMatchObject({ qos: 0, retain: true, topicId: 7, msgId: 0, payload: Buffer.from('21.6') });
    await second;
    expect(client.topicIdOf('home/kitchen/temp')).toBe(7);
  });

  it('§6.6 PUBACK "invalid topic ID" makes the client register again and resend', async () => {
    const { gw, client } = await connected();
    const registerAndPublish = async (topicId: number) => {
      const register = await gw.peer.expect('REGISTER');
      gw.peer.reply({ type: 'REGACK', topicId, msgId: register.msgId, returnCode: 0 });
      return gw.peer.expect('PUBLISH');
    };
    const publishing = client.publish('a/b', 'x', { qos: 1 });
    const stale = await registerAndPublish(3);
    gw.peer.reply({ type: 'PUBACK', topicId: 3, msgId: stale.msgId, returnCode: 0x02 });
    const fresh = await registerAndPublish(4);
    expect(fresh.topicId).toBe(4);
    gw.peer.reply({ type: 'PUBACK', topicId: 4, msgId: fresh.msgId, returnCode: 0 });
    await publishing;
  });

  it('§6.6 PUBACK congestion rejects the publish', async () => {
    const { gw, client } = await connected();
    const publishing = client.publish({ predefinedId: 1 }, 'x', { qos: 1 });
    const publish = await gw.peer.expect('PUBLISH');
    gw.peer.reply({ type: 'PUBACK', topicId: 1, msgId: publish.msgId, returnCode: 0x01 });
    await expect(publishing).rejects.toThrow(/rejected: return code 0x01 \(rejected: congestion\)/);
  });

  it('§6.6 QoS 2 runs PUBLISH, PUBREC, PUBREL, PUBCOMP', async () => {
    const { gw, client } = await connected();
    const publishing = client.publish({ shortName: 'ab' }, 'on', { qos: 2 });
    const publish = await gw.peer.expect('PUBLISH');
    expect(publish).toMatchObject({ qos: 2, topicIdType: 'short', topicId: shortTopicId('ab') });
    gw.peer.reply({ type: 'PUBREC', msgId: publish.msgId });
    expect(await gw.peer.expect('PUBREL')).toEqual({ type: 'PUBREL', msgId: publish.msgId });
    gw.peer.reply({ type: 'PUBCOMP', msgId: publish.msgId });
    await publishing;
  });

  it('§6.13 an unacknowledged PUBLISH is resent with DUP set and the same MsgId', async () => {
    const { gw, client } = await connected({ retryInterval: 50 });
    const publishing = client.publish({ predefinedId: 2 }, 'x', { qos: 1 });
    const original = await gw.peer.expect('PUBLISH');
    const resent = await gw.peer.expect('PUBLISH');
    expect(original.dup).toBe(false);
    expect(resent).toEqual({ ...original, dup: true });
    gw.peer.reply({ type: 'PUBACK', topicId: 2, msgId: original.msgId, returnCode: 0 });
    await publishing;
  });

  it('§6.8 QoS -1 sends PUBLISH without CONNECT, and refuses a topic name', async () => {
    const { gw, client } = await setup();
    await client.publish({ predefinedId: 5 }, 'hi', { qos: -1 });
    expect(await gw.peer.expect('PUBLISH')).toEqual({ type: 'PUBLISH', dup: false, qos: -1, retain: false, topicIdType: 'predefined', topicId: 5, msgId: 0, payload: Buffer.from('hi') });
    await expect(client.publish('home/x', 'hi', { qos: -1 })).rejects.toThrow(/QoS -1 needs a predefined topic id or a short topic name/);
  });
});

describe('MqttSnClient: subscribe and receive', () => {
  it('§6.9 SUBSCRIBE a wildcard, §6.5 answer the gateway REGISTER, §6.10 PUBACK a QoS 1 PUBLISH and emit it by name', async () => {
    const { gw, client } = await connected();
    const subscribing = client.subscribe('home/#', 1);
    const subscribe = await gw.peer.expect('SUBSCRIBE');
    expect(subscribe).toMatchObject({ dup: false, qos: 1, topic: { topicIdType: 'normal', topicName: 'home/#' } });
    gw.peer.reply({ type: 'SUBACK', qos: 1, topicId: 0, msgId: subscribe.msgId, returnCode: 0 });
    expect(await subscribing).toEqual({ topicId: 0, qos: 1 });

    gw.peer.reply({ type: 'REGISTER', topicId: 12, msgId: 40, topicName: 'home/door' });
    expect(await gw.peer.expect('REGACK')).toEqual({ type: 'REGACK', topicId: 12, msgId: 40, returnCode: 0 });

    const received = nextMessage(client);
    gw.peer.reply({ type: 'PUBLISH', dup: false, qos: 1, retain: true, topicIdType: 'normal', topicId: 12, msgId: 41, payload: Buffer.from('open') });
    expect(await gw.peer.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId: 12, msgId: 41, returnCode: 0 });
    expect(await received).toEqual({ topic: 'home/door', topicIdType: 'normal', topicId: 12, payload: Buffer.from('open'), qos: 1, retain: true, dup: false, msgId: 41 });
  });

  it('§6.9 SUBACK refusal rejects with its return code', async () => {
    const { gw, client } = await connected();
    const subscribing = client.subscribe({ predefinedId: 99 });
    const subscribe = await gw.peer.expect('SUBSCRIBE');
    expect(subscribe.topic).toEqual({ topicIdType: 'predefined', topicId: 99 });
    gw.peer.reply({ type: 'SUBACK', qos: 0, topicId: 0, msgId: subscribe.msgId, returnCode: 0x02 });
    await expect(subscribing).rejects.toSatisfy((err) => err instanceof SnRejectedError && err.returnCode === 0x02);
  });

  it('§6.10 a QoS 1 PUBLISH on an unknown topic id is answered PUBACK 0x02 and not emitted', async () => {
    const { gw, client } = await connected();
    const emitted: ReceivedMessage[] = [];
    client.on('message', (m) => emitted.push(m));
    gw.peer.reply({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'normal', topicId: 77, msgId: 3, payload: Buffer.from('x') });
    expect(await gw.peer.expect('PUBACK')).toEqual({ type: 'PUBACK', topicId: 77, msgId: 3, returnCode: 0x02 });
    expect(emitted).toEqual([]);
  });

  it('§6.10 QoS 2 from the gateway: PUBREC, a resent PUBLISH is not delivered twice, PUBREL → PUBCOMP', async () => {
    const { gw, client } = await connected({ predefined: { 1: 'home/garden/temp' } });
    const emitted: ReceivedMessage[] = [];
    client.on('message', (m) => emitted.push(m));
    const publish = { type: 'PUBLISH', dup: false, qos: 2, retain: false, topicIdType: 'predefined', topicId: 1, msgId: 9, payload: Buffer.from('18') } as const;
    gw.peer.reply(publish);
    expect(await gw.peer.expect('PUBREC')).toEqual({ type: 'PUBREC', msgId: 9 });
    gw.peer.reply({ ...publish, dup: true });
    expect(await gw.peer.expect('PUBREC')).toEqual({ type: 'PUBREC', msgId: 9 });
    gw.peer.reply({ type: 'PUBREL', msgId: 9 });
    expect(await gw.peer.expect('PUBCOMP')).toEqual({ type: 'PUBCOMP', msgId: 9 });
    expect(emitted.map((m) => [m.topic, m.payload.toString()])).toEqual([['home/garden/temp', '18']]);
  });

  it('§6.7 a short-topic PUBLISH is named by its two characters', async () => {
    const { gw, client } = await connected();
    const received = nextMessage(client);
    gw.peer.reply({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 'short', topicId: shortTopicId('tm'), msgId: 0, payload: Buffer.from('5') });
    expect((await received).topic).toBe('tm');
  });

  it('§6.9 UNSUBSCRIBE waits for UNSUBACK', async () => {
    const { gw, client } = await connected();
    const unsubscribing = client.unsubscribe('home/#');
    const unsubscribe = await gw.peer.expect('UNSUBSCRIBE');
    expect(unsubscribe.topic).toEqual({ topicIdType: 'normal', topicName: 'home/#' });
    gw.peer.reply({ type: 'UNSUBACK', msgId: unsubscribe.msgId });
    await unsubscribing;
  });
});

describe('MqttSnClient: keep-alive, sleep, disconnect', () => {
  it('§6.11 ping() is PINGREQ without a ClientId, answered by PINGRESP', async () => {
    const { gw, client } = await connected();
    const pinging = client.ping();
    expect(await gw.peer.expect('PINGREQ')).toEqual({ type: 'PINGREQ' });
    gw.peer.reply({ type: 'PINGRESP' });
    await pinging;
  });

  it('§6.14 sleep() sends DISCONNECT with a Duration; wake() collects the buffered messages until PINGRESP', async () => {
    const { gw, client } = await connected({ predefined: { 3: 'cmd/led' } });
    const sleeping = client.sleep(300);
    expect(await gw.peer.expect('DISCONNECT')).toEqual({ type: 'DISCONNECT', duration: 300 });
    gw.peer.reply({ type: 'DISCONNECT' });
    await sleeping;
    expect(client.connected).toBe(false);

    const waking = client.wake();
    expect(await gw.peer.expect('PINGREQ')).toEqual({ type: 'PINGREQ', clientId: 'sensor-1' });
    gw.peer.reply({ type: 'PUBLISH', dup: false, qos: 0, retain: false, topicIdType: 'predefined', topicId: 3, msgId: 0, payload: Buffer.from('on') });
    gw.peer.reply({ type: 'PUBLISH', dup: false, qos: 1, retain: false, topicIdType: 'predefined', topicId: 3, msgId: 8, payload: Buffer.from('off') });
    expect(await gw.peer.expect('PUBACK')).toMatchObject({ msgId: 8, returnCode: 0 });
    gw.peer.reply({ type: 'PINGRESP' });
    const messages = await waking;
    expect(messages.map((m) => [m.topic, m.payload.toString()])).toEqual([['cmd/led', 'on'], ['cmd/led', 'off']]);
  });

  it('§6.12 disconnect() waits for the DISCONNECT answer; an unasked DISCONNECT is a "disconnect" event', async () => {
    const { gw, client } = await connected();
    const dropped = new Promise((resolve) => client.once('disconnect', resolve));
    gw.peer.reply({ type: 'DISCONNECT' });
    expect(await dropped).toEqual({ type: 'DISCONNECT' });
    expect(client.connected).toBe(false);

    const again = client.connect({ clientId: 'sensor-1' });
    await gw.peer.expect('CONNECT');
    gw.peer.reply({ type: 'CONNACK', returnCode: 0 });
    await again;
    const disconnecting = client.disconnect();
    expect(await gw.peer.expect('DISCONNECT')).toEqual({ type: 'DISCONNECT' });
    gw.peer.reply({ type: 'DISCONNECT' });
    await disconnecting;
    expect(client.connected).toBe(false);
  });
});

describe('SnUdpPeer', () => {
  it('expect() names what came instead of the awaited type', async () => {
    const gw = await startFakeGateway();
    cleanups.push(() => gw.close());
    const peer = await SnUdpPeer.open({ gateway: { port: gw.port } });
    cleanups.push(() => peer.close());
    peer.send({ type: 'PINGREQ' });
    await gw.peer.expect('PINGREQ');
    gw.peer.reply({ type: 'CONNACK', returnCode: 3 });
    await expect(peer.expect('PINGRESP')).rejects.toThrow('expected PINGRESP, got CONNACK {"returnCode":3}');
  });

  it('an undecodable datagram makes next() reject with its bytes; sendRaw() sends bytes as given', async () => {
    const gw = await startFakeGateway();
    cleanups.push(() => gw.close());
    const peer = await SnUdpPeer.open({ gateway: { port: gw.port } });
    cleanups.push(() => peer.close());
    peer.sendRaw(Buffer.from([0x02, 0x03])); // MsgType 0x03 is reserved
    await expect(gw.peer.next()).rejects.toThrow(/undecodable frame 0x0203/);
    expect(gw.frames).toEqual([Buffer.from([0x02, 0x03])]);
  });

  it('§5.5 forwarder mode wraps every frame in ENCAPSULATED and unwraps the answer for its node', async () => {
    const gw = await startFakeGateway();
    cleanups.push(() => gw.close());
    const nodeId = Buffer.from([0xaa, 0xbb]);
    const peer = await SnUdpPeer.open({ gateway: { port: gw.port }, forwarder: { wirelessNodeId: nodeId } });
    cleanups.push(() => peer.close());
    expect(peer.localAddress).toBe(`udp:127.0.0.1:${peer.port}`);

    peer.send({ type: 'PINGREQ' });
    expect(await gw.peer.expect('ENCAPSULATED')).toEqual({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: nodeId, message: { type: 'PINGREQ' } });
    gw.peer.reply({ type: 'ENCAPSULATED', radius: 0, wirelessNodeId: nodeId, message: { type: 'PINGRESP' } });
    expect(await peer.next()).toEqual({ type: 'PINGRESP' });

    gw.peer.reply({ type: 'PINGRESP' });
    await expect(peer.next()).rejects.toThrow('forwarder expected ENCAPSULATED, got PINGRESP');
  });

  it('expectSilence() rejects with the message that did arrive', async () => {
    const gw = await startFakeGateway();
    cleanups.push(() => gw.close());
    const peer = await SnUdpPeer.open({ gateway: { port: gw.port } });
    cleanups.push(() => peer.close());
    peer.send({ type: 'SEARCHGW', radius: 1 });
    await expect(gw.peer.expectSilence(2000)).rejects.toThrow('expected silence, got SEARCHGW {"radius":1}');
  });
});
