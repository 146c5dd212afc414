/** CONNECT (§6.2, §6.3): CONNACK at once, or the will handshake first when Will=1. */
import { PROTOCOL_ID } from '../../../sn-codec/index.js';
import type { ConnectMessage } from '../../../sn-codec/types.js';
import { ReturnCode } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';
import { isConnected, newSession, type Session } from '../session.js';

/** Why this CONNECT cannot be served (answered CONNACK 0x03), or undefined when it can. */
function refusal(core: GatewayCore, message: ConnectMessage): string | undefined {
  if (message.protocolId !== undefined && message.protocolId !== PROTOCOL_ID) {
    return `ProtocolId 0x${message.protocolId.toString(16).padStart(2, '0')} (MQTT-SN 1.2 is 0x01)`;
  }
  const length = Buffer.byteLength(message.clientId);
  if (length === 0) return 'empty ClientId';
  if (length > core.config.maxClientIdLength) return `ClientId of ${length} bytes (maxClientIdLength ${core.config.maxClientIdLength})`;
  if (message.clientId.includes('\u0000')) return 'NUL inside the ClientId';
  return undefined;
}

export function handleConnect(core: GatewayCore, peer: Peer, message: ConnectMessage, atPeer: Session | undefined): void {
  const refused = refusal(core, message);
  if (refused !== undefined) {
    // Refused before any state changes: whatever session this address or ClientId has stays as it was.
    core.stats.connectsRefused++;
    core.log('info', `CONNECT from ${peer.address} refused: ${refused}`);
    core.sendToPeer(peer, { type: 'CONNACK', returnCode: ReturnCode.NotSupported });
    return;
  }
  if (!core.access.mayConnect({ clientId: message.clientId, radio: peer.radio.name, address: peer.address })) {
    // Refused before anything changes: a session (or another client) at this address is left as it was.
    core.stats.connectsRefused++;
    core.refuse(message.clientId, peer.radio.name, peer.address, 'CONNECT');
    core.sendToPeer(peer, { type: 'CONNACK', returnCode: ReturnCode.NotSupported });
    return;
  }
  const now = core.clock.now();
  let session = core.sessionsById.get(message.clientId);
  // Another client that spoke from this address before is gone; this peer is someone new now.
  if (atPeer && atPeer !== session) {
    if (isConnected(atPeer.state)) core.disconnect(atPeer);
    else core.unbind(atPeer);
  }
  const joining = !session || !isConnected(session.state);
  if (joining && core.connectedCount >= core.config.maxClients) {
    core.stats.connectsRefused++;
    core.log('warn', `CONNECT from ${message.clientId} at ${peer.address} refused: ${core.connectedCount} clients connected (maxClients)`);
    core.sendToPeer(peer, { type: 'CONNACK', returnCode: ReturnCode.Congestion });
    return;
  }
  if (core.connectingCount >= core.limits.maxConnecting && session?.state !== 'connecting') {
    // A CONNECT storm (spoofed ports, unfinished will handshakes) must not hold unbounded half-open sessions.
    core.stats.connectsRefused++;
    core.log('warn', `CONNECT from ${message.clientId} at ${peer.address} refused: ${core.connectingCount} clients connecting (limits.maxConnecting)`);
    core.sendToPeer(peer, { type: 'CONNACK', returnCode: ReturnCode.Congestion });
    return;
  }
  if (!session) {
    session = newSession(message.clientId, core.linkOf(peer), now);
    core.sessionsById.set(message.clientId, session);
  }
  core.bind(session, peer);
  session.lastSeen = now;
  session.keepAlive = message.duration;
  session.sleepDuration = 0;
  // Publishes the client never acknowledged go out again after CONNACK (CleanSession=0 keeps them).
  core.requeueInflight(session);
  if (message.cleanSession) core.clearSession(session);
  session.cleanSession = message.cleanSession;
  core.setState(session, 'connecting');
  if (message.will) {
    session.pendingWill = {};
    core.expect(session, 'willtopic', 0);
    core.send(session, { type: 'WILLTOPICREQ' });
    return;
  }
  completeConnect(core, session);
}

/** CONNACK: the client is active; what waited for it (CleanSession=0) is delivered. */
export function completeConnect(core: GatewayCore, session: Session): void {
  const pending = session.pendingWill;
  session.pendingWill = undefined;
  if (pending) {
    session.will = pending.topic
      ? { topic: pending.topic, message: pending.message ?? Buffer.alloc(0), qos: pending.qos ?? 0, retain: pending.retain ?? false }
      : undefined;
  }
  // Transparent mode: CONNACK waits for the broker's answer to the sensor's own connection.
  if (core.transparent) core.brokerSessions.connect(session, () => activate(core, session));
  else activate(core, session);
}

/**
 * The latest CONNECT of each session still waiting for its CONNACK (a token per CONNECT). A CONNECT sent
 * again while the first is being stored (maybe with other flags) is answered once, after it is stored
 * itself; the earlier one's commit or failure then sends nothing and changes nothing. Kept here, not in the
 * session: only CONNECTs in flight have an entry.
 */
const latestConnect = new WeakMap<Session, object>();

/**
 * The CONNACK goes once the session as connected is stored (at once without a store): a crash right after
 * it must not bring back, at restart, a session the sensor was told is gone (CleanSession=1), nor lose one
 * it was told is kept. Meanwhile the session is already active (and stored so), but owes its CONNACK:
 * broker messages are held behind it, as behind a SUBACK.
 */
function activate(core: GatewayCore, session: Session): void {
  core.setState(session, 'active');
  session.acksOwed++;
  const connect = {};
  latestConnect.set(session, connect);
  const latest = (): boolean => {
    if (latestConnect.get(session) !== connect) return false;
    latestConnect.delete(session);
    return true;
  };
  core.afterCommit(() => {
    // A DISCONNECT (or a loss) in between: the client no longer waits for it, and what is queued stays.
    const active = latest() && session.state === 'active';
    if (active) core.send(session, { type: 'CONNACK', returnCode: ReturnCode.Accepted });
    core.ackSent(session);
    if (active) core.pump(session);
  }, () => {
    // The store failed: no CONNACK, so the client is not connected yet (it will CONNECT again); what was
    // held behind the CONNACK waits in its queue for the next one instead of being held for good.
    if (latest() && session.state === 'active') core.setState(session, 'connecting');
    core.ackSent(session);
  });
}
