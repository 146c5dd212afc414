/** UNSUBSCRIBE (§6.9): the broker subscription goes when its last client leaves it. */
import type { UnsubscribeMessage } from '../../../sn-codec/types.js';
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
  const filter = filterOf(core, session, message.topic);
  if (filter !== undefined && session.subscriptions.delete(filter)) core.dropSubscription(session, filter);
  // UNSUBACK either way: the client is not subscribed to it afterwards.
  core.send(session, { type: 'UNSUBACK', msgId: message.msgId });
}
