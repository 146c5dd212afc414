/**
 * PINGREQ (§6.11, §6.14). Without ClientId: keep-alive, answered by PINGRESP. With the ClientId of a
 * sleeping client: it is awake; buffered messages are sent, each completing its QoS flow, then PINGRESP,
 * and it sleeps again.
 */
import type { PingreqMessage } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';
import type { Session } from '../session.js';

export function handlePingreq(core: GatewayCore, peer: Peer, message: PingreqMessage, atPeer: Session | undefined): void {
  if (message.clientId !== undefined) {
    const session = core.sessionsById.get(message.clientId);
    if (session && (session.state === 'asleep' || session.state === 'awake')) {
      core.bind(session, peer); // a sensor may wake with a new address
      session.lastSeen = core.clock.now();
      session.sleepSince = session.lastSeen; // the sleep timer restarts on each wake
      core.setState(session, 'awake');
      core.pump(session);
      return;
    }
    if (session && session === atPeer && session.state === 'active') {
      core.send(session, { type: 'PINGRESP' });
      return;
    }
    core.unexpected(peer, message, `no sleeping client ${message.clientId}`);
    return;
  }
  if (!atPeer || atPeer.state === 'lost' || atPeer.state === 'disconnected') {
    core.unexpected(peer, message, 'not connected');
    return;
  }
  core.send(atPeer, { type: 'PINGRESP' });
}
