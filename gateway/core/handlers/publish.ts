/**
 * PUBLISH from a client (§6.6, §6.8): QoS -1/0 fire and forget; QoS 1 PUBACK and QoS 2 PUBREC once
 * the broker accepted the message (held while the broker is away); exactly once for QoS 2 even when
 * the client retransmits with DUP. Served for an asleep client as well (it stays asleep).
 */
import type { PublishMessage } from '../../../sn-codec/types.js';
import { ReturnCode } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';
import type { Session } from '../session.js';
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
  switch (message.qos) {
    case 0:
      core.publishUpstream(topic, message.payload, 0, message.retain);
      return;
    case 1: {
      const incoming = (session.incoming ??= new Map());
      if (incoming.get(msgId) === 'qos1-publishing') return; // a DUP of one still on its way to the broker
      const accepted = core.publishUpstream(topic, message.payload, 1, message.retain, (ok) => {
        incoming.delete(msgId);
        if (ok) core.send(session, { type: 'PUBACK', topicId, msgId, returnCode: ReturnCode.Accepted });
      });
      if (accepted) incoming.set(msgId, 'qos1-publishing');
      else core.send(session, { type: 'PUBACK', topicId, msgId, returnCode: ReturnCode.Congestion });
      return;
    }
    case 2: {
      const incoming = (session.incoming ??= new Map());
      const seen = incoming.get(msgId);
      if (seen === 'qos2-received') {
        core.send(session, { type: 'PUBREC', msgId }); // our PUBREC was lost; never publish twice
        return;
      }
      if (seen === 'qos2-publishing') return;
      const accepted = core.publishUpstream(topic, message.payload, 2, message.retain, (ok) => {
        if (!ok) {
          incoming.delete(msgId);
          return;
        }
        incoming.set(msgId, 'qos2-received');
        core.send(session, { type: 'PUBREC', msgId });
      });
      if (accepted) incoming.set(msgId, 'qos2-publishing');
      else core.send(session, { type: 'PUBACK', topicId, msgId, returnCode: ReturnCode.Congestion });
      return;
    }
  }
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
  core.publishUpstream(topic, message.payload, 0, message.retain);
}
