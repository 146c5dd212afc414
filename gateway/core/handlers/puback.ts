/** The client's answers to the gateway's PUBLISH (§6.10): PUBACK (QoS 1), PUBREC then PUBCOMP (QoS 2). */
import type { PubackMessage, PubcompMessage, PubrecMessage } from '../../../sn-codec/types.js';
import { ReturnCode } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';
import { forgetTopicId, type Session } from '../session.js';
import { actingSession, publishingSession } from './index.js';

export function handlePuback(core: GatewayCore, peer: Peer, message: PubackMessage, atPeer: Session | undefined): void {
  const session = actingSession(atPeer);
  const flight = session && core.takeInflight(session, 'puback', message.msgId);
  if (!session || !flight) {
    core.unexpected(peer, message, 'no PUBLISH awaits this PUBACK');
    return;
  }
  if (message.returnCode === ReturnCode.InvalidTopicId && flight.topicIdType === 'normal') {
    // The client lost the id (e.g. it rebooted): forget it, so the next message registers it again.
    forgetTopicId(session, flight.topicId);
  }
  if (message.returnCode !== ReturnCode.Accepted && flight.message) {
    core.dropForClient(session, flight.message.topic, `client answered PUBACK rc ${message.returnCode}`);
  }
  core.pump(session);
}

export function handlePubrec(core: GatewayCore, peer: Peer, message: PubrecMessage, atPeer: Session | undefined): void {
  const session = publishingSession(atPeer);
  if (!session) {
    core.unexpected(peer, message, 'not connected');
    return;
  }
  const flight = core.takeInflight(session, 'pubrec', message.msgId) ?? core.takeInflight(session, 'pubcomp', message.msgId);
  if (!flight) {
    // The exchange was dropped on our side (the client slept or reconnected after its first PUBREC):
    // PUBREL still releases the id the client holds; nothing is published twice.
    if (session.state === 'asleep') completeWhileAsleep(session, message.msgId);
    core.send(session, { type: 'PUBREL', msgId: message.msgId });
    return;
  }
  // Our PUBREL goes now, and again on a duplicate PUBREC; then we wait for PUBCOMP.
  core.expect(session, 'pubcomp', message.msgId);
  core.send(session, { type: 'PUBREL', msgId: message.msgId });
}

/**
 * A PUBREC from an asleep client for a delivery put back in its buffer when it fell asleep: the client
 * has the message, so it leaves the buffer, and its PUBREL waits for PUBCOMP (sent again on waking).
 */
function completeWhileAsleep(session: Session, msgId: number): void {
  const i = session.queue.findIndex((m) => m.qos === 2 && m.msgId === msgId);
  // Not a delivery of ours: PUBREL answers once, as for an awake client, and nothing is kept for it.
  if (i < 0) return;
  session.queue.splice(i, 1);
  const pending = (session.pendingPubrel ??= []);
  if (!pending.includes(msgId)) pending.push(msgId);
}

export function handlePubcomp(core: GatewayCore, peer: Peer, message: PubcompMessage, atPeer: Session | undefined): void {
  if (atPeer?.state === 'asleep') {
    // The PUBREL sent while it slept is completed: nothing to send again on waking.
    const pending = atPeer.pendingPubrel;
    const i = pending ? pending.indexOf(message.msgId) : -1;
    if (i < 0) core.unexpected(peer, message, 'no PUBREL awaits this PUBCOMP');
    else pending!.splice(i, 1);
    if (pending && pending.length === 0) atPeer.pendingPubrel = undefined;
    return;
  }
  const session = actingSession(atPeer);
  const flight = session && core.takeInflight(session, 'pubcomp', message.msgId);
  if (!session || !flight) {
    core.unexpected(peer, message, 'no PUBREL awaits this PUBCOMP');
    return;
  }
  core.pump(session);
}
