/** PUBREL from a client (§6.6 QoS 2): the message id is released and PUBCOMP answers, even for an unknown id. */
import type { PubrelMessage } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';
import type { Session } from '../session.js';
import { publishingSession } from './index.js';

export function handlePubrel(core: GatewayCore, peer: Peer, message: PubrelMessage, atPeer: Session | undefined): void {
  const session = publishingSession(atPeer); // a QoS 2 PUBLISH sent while asleep completes asleep
  if (!session) {
    core.unexpected(peer, message, 'not connected');
    return;
  }
  // A PUBREL for an id still 'publishing' would release it before the broker took it: wait for the resend.
  const state = session.incoming?.get(message.msgId)?.state;
  if (state === 'qos2-publishing') return;
  if (state === 'qos2-received') {
    session.incoming!.delete(message.msgId);
    core.changed(session);
  }
  core.send(session, { type: 'PUBCOMP', msgId: message.msgId });
}
