/** REGACK from a client, answering the gateway's REGISTER (§6.5): the waiting PUBLISH can go. */
import type { RegackMessage } from '../../../sn-codec/types.js';
import { ReturnCode } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';
import { forgetTopicId, type Session } from '../session.js';
import { actingSession } from './index.js';

export function handleRegack(core: GatewayCore, peer: Peer, message: RegackMessage, atPeer: Session | undefined): void {
  const session = actingSession(atPeer);
  const flight = session && core.takeInflight(session, 'regack', message.msgId);
  if (!session || !flight) {
    core.unexpected(peer, message, 'no REGISTER awaits this REGACK');
    return;
  }
  if (message.returnCode !== ReturnCode.Accepted) {
    // The client refused the topic: forget the id and drop the messages waiting for it.
    const topic = forgetTopicId(session, flight.topicId);
    if (topic !== undefined) {
      const before = session.queue.length;
      session.queue = session.queue.filter((m) => m.topic !== topic);
      for (let i = session.queue.length; i < before; i++) core.dropForClient(session, topic, `client refused REGISTER (rc ${message.returnCode})`);
    }
  }
  core.pump(session);
}
