/**
 * Transparent mode (§4): each connected client's own broker session, by ClientId. Opening one is
 * asynchronous (CONNACK waits for the broker's), so a newer CONNECT makes an older answer stale, and
 * opening waits for the previous connection of the same ClientId to close: two live connections with
 * one ClientId would make the broker take the session from one of them.
 */
import type { ClientSession } from '../broker/upstream.js';
import { ReturnCode } from '../../sn-codec/types.js';
import type { GatewayCore } from './core.js';
import { isConnected, type Session } from './session.js';

interface Attempt {
  /** A newer CONNECT's open, run once this attempt is settled (and its connection, if any, closed). */
  next?: () => void;
}

export class BrokerSessions {
  private readonly open = new Map<string, ClientSession>();
  private readonly opening = new Map<string, Attempt>();

  constructor(private readonly core: GatewayCore) {}

  get(clientId: string): ClientSession | undefined {
    return this.open.get(clientId);
  }

  /**
   * Opens the client's broker session (its ClientId, CleanSession, keep-alive and will); `accepted` runs
   * once the broker accepted it. A refusal is answered CONNACK 0x03 (unreachable: 0x01) with the broker's
   * reason logged, and the client is disconnected.
   */
  connect(session: Session, accepted: () => void): void {
    const core = this.core;
    const clientId = session.clientId;
    const earlier = this.opening.get(clientId);
    const attempt: Attempt = {};
    this.opening.set(clientId, attempt);
    const will = session.will?.topic && core.access.mayPublish(core.requester(session), session.will.topic)
      ? { topic: session.will.topic, payload: session.will.message, qos: session.will.qos, retain: session.will.retain }
      : undefined;
    if (session.will?.topic && !will) core.refuse(clientId, session.link.radio, session.link.address, `will on ${session.will.topic} not registered at the broker`);
    let opened: ClientSession | undefined;
    const open = () => core.upstream.openClient!(
      { clientId, cleanSession: session.cleanSession, keepAlive: session.keepAlive, will },
      {
        message: (topic, payload, qos, retain) => {
          const current = core.sessionsById.get(clientId);
          if (current && opened && this.open.get(clientId) === opened) core.deliver(current, { topic, payload, qos, retain });
        },
        closed: (reason) => {
          if (!opened || this.open.get(clientId) !== opened) return;
          this.open.delete(clientId);
          const current = core.sessionsById.get(clientId);
          if (!current || !isConnected(current.state)) return;
          // Tell the client, so it connects again rather than publishing into nothing (the gateway may DISCONNECT, §6.12).
          core.send(current, { type: 'DISCONNECT' });
          core.lose(current, `broker: ${reason}`);
        },
      },
      (result) => {
        const stale = this.opening.get(clientId) !== attempt || session.state !== 'connecting';
        if (this.opening.get(clientId) === attempt) this.opening.delete(clientId);
        const next = attempt.next ?? (() => {});
        if ('session' in result) {
          if (stale) {
            result.session.close(true, next);
            return;
          }
          opened = result.session;
          this.open.set(clientId, opened);
          accepted();
          return;
        }
        if (stale) {
          next();
          return;
        }
        core.log('warn', `client ${clientId}: the broker ${result.refused ? 'refused' : 'could not be reached for'} its connection: ${result.error}`);
        core.stats.connectsRefused++;
        core.send(session, { type: 'CONNACK', returnCode: result.refused ? ReturnCode.NotSupported : ReturnCode.Congestion });
        core.disconnect(session);
      },
    );
    const previous = this.open.get(clientId);
    this.open.delete(clientId);
    if (earlier) earlier.next = open; // the earlier attempt, now stale, hands over once settled
    // Reconnected (or moved): the old connection ends with DISCONNECT first, so the broker sees no takeover and publishes no will.
    else if (previous) previous.close(true, open);
    else open();
  }

  /** Ends the client's connection: with DISCONNECT (`clean`), or cut so that the broker publishes the will. */
  close(session: Session, clean: boolean): void {
    // An answer still to come finds the client no longer connecting: whatever it opened is closed cleanly then.
    const clientId = session.clientId;
    const broker = this.open.get(clientId);
    if (!broker) return;
    this.open.delete(clientId);
    broker.close(clean);
  }
}
