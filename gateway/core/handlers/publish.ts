/**
 * PUBLISH from a client (§6.6, §6.8): QoS -1/0 fire and forget; QoS 1 PUBACK and QoS 2 PUBREC once
 * the broker accepted the message (held while the broker is away); exactly once for QoS 2 even when
 * the client retransmits with DUP. Served for an asleep client as well (it stays asleep). A broker that
 * refuses the message (MQTT 5 reason code ≥ 0x80) makes it PUBACK 0x03; any other failure is not
 * answered, so the client resends.
 */
import type { PublishMessage } from '../../../sn-codec/types.js';
import { ReturnCode } from '../../../sn-codec/types.js';
import type { PublishResult } from '../../broker/upstream.js';
import type { GatewayCore, Peer } from '../core.js';
import { IncomingPublishes } from '../incoming-publishes.js';
import type { IncomingPublish, IncomingState, Session } from '../session.js';

type HeldMessage = NonNullable<IncomingPublish['message']>;
import { publishingSession, refuse } from './index.js';

export function handlePublish(core: GatewayCore, peer: Peer, message: PublishMessage, atPeer: Session | undefined): void {
  if (message.qos === -1) {
    publishQosMinusOne(core, peer, message, atPeer);
    return;
  }
  // Served while asleep too: a sign of life for the sleep deadline, and the client stays asleep.
  const session = publishingSession(atPeer);
  if (!session) {
    refuse(core, peer, message, atPeer);
    return;
  }
  const topic = core.resolveTopic(session, message.topicIdType, message.topicId);
  if (topic === undefined) {
    // The client re-registers on this (§6.6); QoS 0 gets it too, so the client learns.
    core.send(session, { type: 'PUBACK', topicId: message.topicId, msgId: message.msgId, returnCode: ReturnCode.InvalidTopicId });
    return;
  }
  const { msgId, topicId } = message;
  if (!core.access.mayPublish(core.requester(session), topic)) {
    core.refuse(session.clientId, session.link.radio, session.link.address, `PUBLISH to ${topic}`);
    // QoS 0 has no answer to carry a refusal: dropped (counted above).
    if (message.qos > 0) core.send(session, { type: 'PUBACK', topicId, msgId, returnCode: ReturnCode.NotSupported });
    return;
  }
  if (message.qos === 0) {
    core.publishUpstream(topic, message.payload, 0, message.retain, undefined, session);
    return;
  }
  const seen = session.incoming?.get(msgId)?.state;
  if (seen === (message.qos === 1 ? 'qos1-publishing' : 'qos2-publishing')) return; // a DUP of one still on its way to the broker
  if (seen === 'qos2-received' && message.qos === 2) {
    // Our PUBREC was lost; never publish twice. Sent once the record saying so is stored.
    core.afterCommit(() => core.send(session, { type: 'PUBREC', msgId }));
    return;
  }
  if (!forwardToBroker(core, session, msgId, topic, topicId, message.payload, message.retain, message.qos)) {
    core.send(session, { type: 'PUBACK', topicId, msgId, returnCode: ReturnCode.Congestion });
  }
}

/**
 * Hands a client's QoS 1/2 message to the broker and answers the client once the broker accepted it:
 * PUBACK, or PUBREC after the 'received' mark (which stops a DUP being published twice) is stored.
 * Also used after a restart for messages a kept session still held. False = outgoing queue full.
 */
export function forwardToBroker(core: GatewayCore, session: Session, msgId: number, topic: string, topicId: number, payload: Buffer, retain: boolean, qos: 1 | 2): boolean {
  const incoming = (session.incoming ??= new IncomingPublishes());
  const publish = new ClientPublish(core, session, incoming, msgId, qos, topic, topicId, payload, retain);
  if (!core.publishUpstream(topic, payload, qos, retain, publish, session)) return false;
  incoming.set(msgId, publish);
  // Kept only while the broker is away (held): otherwise the client still has it until our answer.
  if (!core.upstream.connected) core.changed(session);
  return true;
}

/**
 * A client's QoS 1/2 message on its way to the broker: its entry in session.incoming, the message itself,
 * and what the upstream tells how it ended (one object per message, no closure: issue 13).
 */
class ClientPublish implements IncomingPublish, HeldMessage {
  readonly state: IncomingState;

  constructor(
    private readonly core: GatewayCore,
    private readonly session: Session,
    /** The session's entries when it was published (a session cleared meanwhile has new ones, or none). */
    private readonly incoming: IncomingPublishes,
    private readonly msgId: number,
    private readonly qos: 1 | 2,
    readonly topic: string,
    readonly topicId: number,
    readonly payload: Buffer,
    readonly retain: boolean,
  ) {
    this.state = qos === 1 ? 'qos1-publishing' : 'qos2-publishing';
  }

  /** The message held while 'publishing' (IncomingPublish): this record carries it itself. */
  get message(): HeldMessage {
    return this;
  }

  /** The broker accepted the message (QoS 1: PUBACK; QoS 2: PUBCOMP), refused it, or it failed. */
  published(result: PublishResult): void {
    const { core, session, incoming, msgId } = this;
    const message: HeldMessage = this;
    const ok = result.error === undefined;
    if (this.qos === 1 || !ok) {
      incoming.delete(msgId);
      core.changedIfKept(session);
      if (ok) core.send(session, { type: 'PUBACK', topicId: message.topicId, msgId, returnCode: ReturnCode.Accepted });
      else if (result.refused !== undefined) refusedByBroker(core, session, message.topic, message.topicId, msgId, result.refused, result.error?.message ?? '');
      return;
    }
    incoming.set(msgId, { state: 'qos2-received' });
    core.changed(session);
    core.afterCommit(() => core.send(session, { type: 'PUBREC', msgId }));
  }
}

/**
 * The broker refused the message (MQTT 5 reason >= 0x80, e.g. 0x87 not authorised by its ACL), or the upstream
 * did on its behalf (0x90, a topic the embedded broker would close the connection for): PUBACK 0x03.
 */
function refusedByBroker(core: GatewayCore, session: Session, topic: string, topicId: number, msgId: number, reason: number, why: string): void {
  core.log('info', `client ${session.clientId}: its PUBLISH to ${topic} was refused (reason 0x${reason.toString(16)}): ${why}`);
  core.send(session, { type: 'PUBACK', topicId, msgId, returnCode: ReturnCode.NotSupported });
}

/** §6.8: QoS -1 from any sender, connected or not, on a predefined id or short name only. */
function publishQosMinusOne(core: GatewayCore, peer: Peer, message: PublishMessage, session: Session | undefined): void {
  if (message.topicIdType === 'normal') {
    core.unexpected(peer, message, 'QoS -1 needs a predefined topic id or a short topic name');
    return;
  }
  const clientId = session && session.state !== 'lost' && session.state !== 'disconnected' ? session : undefined;
  const topic = core.resolveTopic(clientId, message.topicIdType, message.topicId, peer);
  if (topic === undefined) {
    core.unexpected(peer, message, `unknown ${message.topicIdType} topic id ${message.topicId}`);
    return;
  }
  const allowed = clientId
    ? core.access.mayPublish(core.requester(clientId), topic)
    : core.access.mayPublishAnonymously(peer.radio.name, peer.address, topic);
  if (!allowed) {
    core.refuse(clientId?.clientId ?? '', peer.radio.name, peer.address, `QoS -1 PUBLISH to ${topic}`);
    return;
  }
  core.publishUpstream(topic, message.payload, 0, message.retain, undefined, clientId);
}
