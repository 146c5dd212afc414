/** WILLTOPIC and WILLMSG during the CONNECT handshake (§6.2). */
import type { WillMsgMessage, WillTopicMessage } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';
import { brokerQos, type Session } from '../session.js';
import { ReturnCode } from '../../../sn-codec/types.js';
import { isValidTopicName } from '../topics.js';
import { completeConnect } from './connect.js';

export function handleWillTopic(core: GatewayCore, peer: Peer, message: WillTopicMessage, session: Session | undefined): void {
  if (!session || session.state !== 'connecting' || !session.pendingWill) {
    core.unexpected(peer, message, 'no will handshake under way');
    return;
  }
  core.takeInflight(session, 'willtopic', 0);
  if (message.willTopic === '') {
    // An empty WILLTOPIC: the client has no will after all.
    session.pendingWill = { topic: '' };
    completeConnect(core, session);
    return;
  }
  if (!isValidTopicName(message.willTopic)) {
    // A will that could never be published: the handshake ends refused, like any refused CONNECT.
    session.pendingWill = undefined;
    core.stats.connectsRefused++;
    core.log('info', `CONNECT from ${session.clientId} refused: will topic "${message.willTopic}" is not a valid topic name`);
    core.send(session, { type: 'CONNACK', returnCode: ReturnCode.NotSupported });
    core.disconnect(session);
    return;
  }
  session.pendingWill = { topic: message.willTopic, qos: brokerQos(message.qos), retain: message.retain };
  core.expect(session, 'willmsg', 0);
  core.send(session, { type: 'WILLMSGREQ' });
}

export function handleWillMsg(core: GatewayCore, peer: Peer, message: WillMsgMessage, session: Session | undefined): void {
  if (!session || session.state !== 'connecting' || !session.pendingWill?.topic) {
    core.unexpected(peer, message, 'no will topic was asked for');
    return;
  }
  core.takeInflight(session, 'willmsg', 0);
  session.pendingWill.message = Buffer.from(message.willMsg);
  completeConnect(core, session);
}
