/** WILLTOPICUPD / WILLMSGUPD while connected (§6.4). */
import type { WillMsgUpdMessage, WillTopicUpdMessage } from '../../../sn-codec/types.js';
import { ReturnCode } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';
import { brokerQos, type Session } from '../session.js';
import { isValidTopicName } from '../topics.js';
import { actingSession, refuse } from './index.js';

export function handleWillTopicUpd(core: GatewayCore, peer: Peer, message: WillTopicUpdMessage, atPeer: Session | undefined): void {
  const session = actingSession(atPeer);
  if (!session) {
    refuse(core, peer, message, atPeer);
    return;
  }
  if (core.transparent) {
    // The will is registered at the broker with the connection; MQTT cannot change it on an open connection.
    core.send(session, { type: 'WILLTOPICRESP', returnCode: ReturnCode.NotSupported });
    return;
  }
  if (message.willTopic === '') {
    session.will = undefined; // an empty WILLTOPICUPD deletes topic and message
  } else if (!isValidTopicName(message.willTopic)) {
    // A will on a filter (or with a NUL) could never be published; the old will stays.
    core.send(session, { type: 'WILLTOPICRESP', returnCode: ReturnCode.NotSupported });
    return;
  } else if (!core.access.mayPublish(core.requester(session), message.willTopic)) {
    // A will it could never publish: refused now, while the client can still hear why.
    core.refuse(session.clientId, session.link.radio, session.link.address, `WILLTOPICUPD ${message.willTopic}`);
    core.send(session, { type: 'WILLTOPICRESP', returnCode: ReturnCode.NotSupported });
    return;
  } else {
    session.will = {
      topic: message.willTopic,
      message: session.will?.message ?? Buffer.alloc(0),
      qos: brokerQos(message.qos),
      retain: message.retain,
    };
  }
  // A kept session's will is what the restarted gateway publishes if the sensor is lost: answered once stored.
  core.changed(session);
  core.afterCommit(() => core.send(session, { type: 'WILLTOPICRESP', returnCode: ReturnCode.Accepted }));
}

export function handleWillMsgUpd(core: GatewayCore, peer: Peer, message: WillMsgUpdMessage, atPeer: Session | undefined): void {
  const session = actingSession(atPeer);
  if (!session) {
    refuse(core, peer, message, atPeer);
    return;
  }
  if (core.transparent || !session.will) {
    // A message without a topic cannot be published; the spec leaves this open (docs/spec-interpretation.md).
    core.send(session, { type: 'WILLMSGRESP', returnCode: ReturnCode.NotSupported });
    return;
  }
  session.will.message = Buffer.from(message.willMsg);
  core.changed(session);
  core.afterCommit(() => core.send(session, { type: 'WILLMSGRESP', returnCode: ReturnCode.Accepted }));
}
