/**
 * SUBSCRIBE (§6.9) by name (wildcards allowed), short name or predefined id. SUBACK carries the topic id
 * the gateway will publish with (0x0000 for wildcards and short names) and the granted QoS.
 */
import type { SubscribeMessage, TopicRef } from '../../../sn-codec/types.js';
import { ReturnCode } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';
import { registerTopic, setSubscription, type Session } from '../session.js';
import { hasWildcard, isValidTopicFilter } from '../topics.js';
import { actingSession, refuse } from './index.js';

/** The broker filter a SUBSCRIBE/UNSUBSCRIBE names; undefined when the id is unknown or the filter invalid. */
export function filterOf(core: GatewayCore, session: Session, topic: TopicRef): string | undefined {
  switch (topic.topicIdType) {
    case 'normal': return isValidTopicFilter(topic.topicName) ? topic.topicName : undefined;
    case 'predefined':
    case 'short': return core.resolveTopic(session, topic.topicIdType, topic.topicId);
  }
}

export function handleSubscribe(core: GatewayCore, peer: Peer, message: SubscribeMessage, atPeer: Session | undefined): void {
  const session = actingSession(atPeer);
  if (!session) {
    refuse(core, peer, message, atPeer);
    return;
  }
  const { msgId, qos, topic } = message;
  const filter = filterOf(core, session, topic);
  if (filter === undefined) {
    const topicId = topic.topicIdType === 'normal' ? 0 : topic.topicId;
    core.send(session, { type: 'SUBACK', qos: 0, topicId, msgId, returnCode: ReturnCode.InvalidTopicId });
    return;
  }
  if (!core.access.maySubscribe(core.requester(session), filter)) {
    core.refuse(session.clientId, session.link.radio, session.link.address, `SUBSCRIBE ${filter}`);
    const topicId = topic.topicIdType === 'predefined' ? topic.topicId : 0;
    core.send(session, { type: 'SUBACK', qos: 0, topicId, msgId, returnCode: ReturnCode.NotSupported });
    return;
  }
  if (!session.subscriptions.has(filter) && session.subscriptions.size >= core.limits.maxSubscriptionsPerClient) {
    core.send(session, { type: 'SUBACK', qos: 0, topicId: 0, msgId, returnCode: ReturnCode.Congestion });
    return;
  }
  let topicId = 0;
  if (topic.topicIdType === 'predefined') topicId = topic.topicId;
  else if (topic.topicIdType === 'normal' && !hasWildcard(filter)) {
    const full = session.topics.idOf(filter) === undefined && session.topics.size >= core.limits.maxTopicIdsPerClient;
    const id = full ? undefined : registerTopic(session, filter);
    if (id === undefined) {
      core.send(session, { type: 'SUBACK', qos: 0, topicId: 0, msgId, returnCode: ReturnCode.Congestion });
      return;
    }
    topicId = id;
  }
  setSubscription(session, topic.topicIdType === 'predefined'
    ? { filter, qos, topicIdType: 'predefined', topicId: topic.topicId }
    : { filter, qos, topicIdType: topic.topicIdType });
  session.acksOwed++;
  core.addSubscription(session, filter, qos, (granted) => {
    const refused = granted >= 0x80;
    if (refused) {
      // The broker refused (e.g. its ACL): undo, and tell the client.
      session.subscriptions.delete(filter);
      core.dropSubscription(session, filter);
    }
    // The answer is given once the session as it now stands is stored, as a REGACK's topic id is: a crash right
    // after a SUBACK must not leave the sensor waiting for what the restarted gateway would not send, nor bring
    // back a subscription it was told was refused. Broker messages for it stay held until ackSent, so the SUBACK
    // goes first. A store that fails withholds the SUBACK (the client will SUBSCRIBE again) but must not hold
    // the client's messages for good.
    core.changed(session);
    core.afterCommit(() => {
      core.send(session, refused
        ? { type: 'SUBACK', qos: 0, topicId, msgId, returnCode: ReturnCode.NotSupported }
        : { type: 'SUBACK', qos, topicId, msgId, returnCode: ReturnCode.Accepted });
      core.ackSent(session);
    }, () => core.ackSent(session));
  });
}
