/**
 * DISCONNECT (§6.12, §6.14). With Duration: the client sleeps for that long and its messages are
 * buffered. Without: it is disconnected, its will is not published, CleanSession=1 forgets its session.
 * Either way the gateway answers DISCONNECT.
 */
import type { DisconnectMessage } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';
import type { Session } from '../session.js';

export function handleDisconnect(core: GatewayCore, peer: Peer, message: DisconnectMessage, session: Session | undefined): void {
  if (session && session.state !== 'lost' && session.state !== 'disconnected' && session.state !== 'connecting'
    && message.duration !== undefined && message.duration > 0) {
    session.sleepDuration = message.duration;
    core.requeueInflight(session);
    core.fallAsleep(session);
    // The sleeper is told it may sleep only once that is stored: after a crash its wake-up finds its session.
    core.afterCommit(() => core.sendToPeer(peer, { type: 'DISCONNECT' }));
    return;
  }
  core.sendToPeer(peer, { type: 'DISCONNECT' });
  if (!session || session.state === 'lost' || session.state === 'disconnected') return;
  core.disconnect(session);
}
