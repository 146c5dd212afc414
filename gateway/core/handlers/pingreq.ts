/**
 * PINGREQ (§6.11, §6.14). Without ClientId: keep-alive, answered by PINGRESP. With the ClientId of a
 * sleeping client: it is awake; buffered messages are sent, each completing its QoS flow, then PINGRESP,
 * and it sleeps again. A PINGREQ the gateway cannot map to a session is answered DISCONNECT (§5.4.21).
 */
import type { PingreqMessage } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';
import type { Session } from '../session.js';
import { isUnmapped } from './index.js';

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
    // Unknown, lost or ended: DISCONNECT tells the sensor to CONNECT again (§5.4.21).
    core.unmapped(peer, message, `no sleeping client ${message.clientId}`);
    return;
  }
  if (!atPeer || isUnmapped(atPeer)) {
    core.unmapped(peer, message, 'no session at this address');
    return;
  }
  core.send(atPeer, { type: 'PINGRESP' });
}
