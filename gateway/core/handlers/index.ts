/** One handler per message type (like aedes' lib/handlers/), dispatched from a table. */
import type { SnMessage, SnMessageOf, SnMessageType } from '../../../sn-codec/types.js';
import type { GatewayCore, Peer } from '../core.js';
import type { Session } from '../session.js';
import { handleConnect } from './connect.js';
import { handleDisconnect } from './disconnect.js';
import { handlePingreq } from './pingreq.js';
import { handlePublish } from './publish.js';
import { handlePuback, handlePubcomp, handlePubrec } from './puback.js';
import { handlePubrel } from './pubrel.js';
import { handleRegack } from './regack.js';
import { handleRegister } from './register.js';
import { handleSearchgw } from './searchgw.js';
import { handleSubscribe } from './subscribe.js';
import { handleUnsubscribe } from './unsubscribe.js';
import { handleWillMsg, handleWillTopic } from './will.js';
import { handleWillMsgUpd, handleWillTopicUpd } from './will-update.js';

export type Handler<T extends SnMessageType> = (core: GatewayCore, peer: Peer, message: SnMessageOf<T>, session: Session | undefined) => void;

const ignore = () => {};

const handlers: { [T in SnMessageType]?: Handler<T> } = {
  CONNECT: handleConnect,
  WILLTOPIC: handleWillTopic,
  WILLMSG: handleWillMsg,
  REGISTER: handleRegister,
  REGACK: handleRegack,
  PUBLISH: handlePublish,
  PUBACK: handlePuback,
  PUBREC: handlePubrec,
  PUBREL: handlePubrel,
  PUBCOMP: handlePubcomp,
  SUBSCRIBE: handleSubscribe,
  UNSUBSCRIBE: handleUnsubscribe,
  PINGREQ: handlePingreq,
  DISCONNECT: handleDisconnect,
  WILLTOPICUPD: handleWillTopicUpd,
  WILLMSGUPD: handleWillMsgUpd,
  SEARCHGW: handleSearchgw,
  // Other gateways' discovery traffic shares the radio; it is not ours to answer.
  ADVERTISE: ignore,
  GWINFO: ignore,
};

export function dispatch(core: GatewayCore, peer: Peer, message: SnMessage, session: Session | undefined): void {
  const handler = handlers[message.type] as Handler<SnMessageType> | undefined;
  if (!handler) {
    core.unexpected(peer, message, 'a client does not send this message');
    return;
  }
  handler(core, peer, message, session);
}

/** The session of a peer that may act now (§6.14: an awake client may publish too). */
export function actingSession(session: Session | undefined): Session | undefined {
  return session && (session.state === 'active' || session.state === 'awake') ? session : undefined;
}

/**
 * The session whose PUBLISH flows are served: acting, or asleep. Sensors wake, publish and sleep
 * without a PINGREQ in between (docs/spec-interpretation.md §6.14); the client stays asleep.
 */
export function publishingSession(session: Session | undefined): Session | undefined {
  return session && (session.state === 'active' || session.state === 'awake' || session.state === 'asleep') ? session : undefined;
}

/** No live session at this peer (never connected, lost, disconnected): §5.4.21 lets the gateway say so. */
export function isUnmapped(session: Session | undefined): boolean {
  return !session || session.state === 'lost' || session.state === 'disconnected';
}

/** Refuses a message from a peer that may not send it now: DISCONNECT when it has no session, else dropped. */
export function refuse(core: GatewayCore, peer: Peer, message: SnMessage, atPeer: Session | undefined): void {
  if (isUnmapped(atPeer)) core.unmapped(peer, message, 'no session at this address');
  else core.unexpected(peer, message, `not allowed while ${atPeer!.state}`);
}
