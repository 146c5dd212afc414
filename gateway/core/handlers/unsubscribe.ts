/** UNSUBSCRIBE (§6.9): the broker subscription goes when its last client leaves it. */
import type { TopicRef, UnsubscribeMessage } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';
import type { Session } from '../session.js';
import { actingSession, refuse } from './index.js';
import { filterOf } from './subscribe.js';

export function handleUnsubscribe(core: GatewayCore, peer: Peer, message: UnsubscribeMessage, atPeer: Session | undefined): void {
  const session = actingSession(atPeer);
  if (!session) {
    refuse(core, peer, message, atPeer);
    return;
  }
  const filter = subscribedFilter(session, message.topic) ?? filterOf(core, session, message.topic);
  if (filter !== undefined && session.subscriptions.delete(filter)) {
    core.dropSubscription(session, filter);
    core.changed(session);
  }
  // UNSUBACK either way: the client is not subscribed to it afterwards. For a kept session, once that is
  // stored: restarted, the gateway must not subscribe it again behind the sensor's back.
  core.afterCommit(() => core.send(session, { type: 'UNSUBACK', msgId: message.msgId }));
}

/** A subscription made by this predefined id: its topic may differ from what the id means now (reload, {address}). */
function subscribedFilter(session: Session, topic: TopicRef): string | undefined {
  if (topic.topicIdType !== 'predefined') return undefined;
  for (const sub of session.subscriptions.values()) {
    if (sub.topicIdType === 'predefined' && sub.topicId === topic.topicId) return sub.filter;
  }
  return undefined;
}
