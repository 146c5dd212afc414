/** REGISTER from a client (§6.5): REGACK with the topic id, per client and stable for the session. */
import type { RegisterMessage } from '../../../sn-codec/types.js';
import { ReturnCode } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';
import { registerTopic, type Session } from '../session.js';
import { isValidTopicName } from '../topics.js';
import { actingSession, refuse } from './index.js';

export function handleRegister(core: GatewayCore, peer: Peer, message: RegisterMessage, atPeer: Session | undefined): void {
  const session = actingSession(atPeer);
  if (!session) {
    refuse(core, peer, message, atPeer);
    return;
  }
  if (!isValidTopicName(message.topicName)) {
    core.send(session, { type: 'REGACK', topicId: 0, msgId: message.msgId, returnCode: ReturnCode.NotSupported });
    return;
  }
  const who = core.requester(session);
  if (!core.access.mayPublish(who, message.topicName) && !core.access.maySubscribe(who, message.topicName)) {
    core.refuse(session.clientId, who.radio, who.address, `REGISTER ${message.topicName}`);
    core.send(session, { type: 'REGACK', topicId: 0, msgId: message.msgId, returnCode: ReturnCode.NotSupported });
    return;
  }
  if (session.topics.idOf(message.topicName) === undefined && session.topics.size >= core.limits.maxTopicIdsPerClient) {
    // A REGISTER loop must not grow one client's registry without end (limits.maxTopicIdsPerClient).
    core.send(session, { type: 'REGACK', topicId: 0, msgId: message.msgId, returnCode: ReturnCode.Congestion });
    return;
  }
  const topicId = registerTopic(session, message.topicName);
  // A kept session's topic id is promised only once it is stored: a crash right after the REGACK must not
  // leave the sensor publishing on an id the restarted gateway never heard of. (At once without a store.)
  core.afterCommit(() => core.send(session, {
    type: 'REGACK', topicId: topicId ?? 0, msgId: message.msgId,
    returnCode: topicId === undefined ? ReturnCode.Congestion : ReturnCode.Accepted,
  }));
}
