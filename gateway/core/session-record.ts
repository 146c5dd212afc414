/**
 * A session as a stored record and back: JSON-safe (payloads in base64), versioned, and checked on
 * the way in, so a record that is damaged or of another version is refused with a reason rather
 * than misread. Only what must outlive the connection is kept: no timers, sockets or counters of
 * the running process.
 */
import { IncomingPublishes } from './incoming-publishes.js';
import type { ClientState, Inflight, IncomingPublish, OutboundMessage, Session, Subscription } from './session.js';
import { newSession } from './session.js';
import { SmallMap } from './small-map.js';
import { TopicRegistry } from './topic-registry.js';

/** Bump on any change of the record's shape; readRecord refuses others (see docs/spec-interpretation.md). */
export const RECORD_VERSION = 1;

type StoredMessage = [topic: string, payload: string, qos: 0 | 1 | 2, retain: boolean, msgId: number | null, brokerId?: number];

interface SessionRecordV1 {
  v: 1;
  clientId: string;
  state: ClientState;
  link: { radio: string; address: string; nodeId?: string };
  cleanSession: boolean;
  keepAlive: number;
  lastSeen: number;
  sleepDuration: number;
  sleepSince: number;
  will: { topic: string; message: string; qos: 0 | 1 | 2; retain: boolean } | null;
  topics: [name: string, id: number][];
  nextTopicId: number;
  subscriptions: Subscription[];
  /** Queued messages, those held behind a pending SUBACK last. */
  queue: StoredMessage[];
  inflight: { step: Inflight['step']; msgId: number; message: StoredMessage | null; topicId: number; topicIdType: Inflight['topicIdType'] }[];
  nextMsgId: number;
  incoming: [msgId: number, state: IncomingPublish['state'], held: [topic: string, topicId: number, payload: string, retain: boolean] | null][];
  pendingPubrel: number[];
  dropped: number;
}

const b64 = (b: Buffer) => b.toString('base64');

function storeMessage(m: OutboundMessage): StoredMessage {
  const stored: StoredMessage = [m.topic, b64(m.payload), m.qos, m.retain, m.msgId ?? null];
  if (m.brokerId !== undefined) stored.push(m.brokerId);
  return stored;
}

/** The record of a session, as it stands now. */
export function toRecord(s: Session): SessionRecordV1 {
  const queue = s.queue.map(storeMessage);
  if (s.held) for (const m of s.held) queue.push(storeMessage(m));
  return {
    v: RECORD_VERSION,
    clientId: s.clientId,
    state: s.state,
    link: s.link,
    cleanSession: s.cleanSession,
    keepAlive: s.keepAlive,
    lastSeen: s.lastSeen,
    sleepDuration: s.sleepDuration,
    sleepSince: s.sleepSince,
    will: s.will ? { topic: s.will.topic, message: b64(s.will.message), qos: s.will.qos, retain: s.will.retain } : null,
    topics: [...s.topics],
    nextTopicId: s.nextTopicId,
    subscriptions: [...s.subscriptions.values()],
    queue,
    inflight: s.inflight.map((f) => ({ step: f.step, msgId: f.msgId, message: f.message ? storeMessage(f.message) : null, topicId: f.topicId, topicIdType: f.topicIdType })),
    nextMsgId: s.nextMsgId,
    incoming: s.incoming
      ? [...s.incoming].map(([id, e]) => [id, e.state, e.message ? [e.message.topic, e.message.topicId, b64(e.message.payload), e.message.retain] : null])
      : [],
    pendingPubrel: s.pendingPubrel ?? [],
    dropped: s.dropped,
  };
}

/** A record that cannot be read back: what is wrong with it, for the log. */
export class RecordError extends Error {
  override readonly name = 'RecordError';
}

/** Whether the record holds a client message still on its way to the broker. */
export function recordHoldsPublishes(record: SessionRecordV1): boolean {
  return record.incoming.some((e) => e[2] !== null);
}

/** Reads a record back into a session (state and times as stored; the core decides what they mean now). */
export function readRecord(clientId: string, raw: unknown): Session {
  const r = raw as Partial<SessionRecordV1> | null;
  if (typeof r !== 'object' || r === null) throw new RecordError('not an object');
  if (r.v !== RECORD_VERSION) throw new RecordError(`record version ${JSON.stringify(r.v)}, this gateway reads version ${RECORD_VERSION}`);
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new RecordError(`bad or missing ${what}`);
  };
  need(r.clientId === clientId, 'clientId');
  need(['connecting', 'active', 'asleep', 'awake', 'lost', 'disconnected'].includes(r.state as string), 'state');
  need(typeof r.link?.radio === 'string' && typeof r.link.address === 'string', 'link');
  for (const key of ['keepAlive', 'lastSeen', 'sleepDuration', 'sleepSince', 'nextTopicId', 'nextMsgId', 'dropped'] as const) need(typeof r[key] === 'number', key);
  need(typeof r.cleanSession === 'boolean', 'cleanSession');
  for (const key of ['topics', 'subscriptions', 'queue', 'inflight', 'incoming', 'pendingPubrel'] as const) need(Array.isArray(r[key]), key);
  const rec = r as SessionRecordV1;
  const message = (m: StoredMessage): OutboundMessage => {
    need(Array.isArray(m) && typeof m[0] === 'string' && typeof m[1] === 'string' && [0, 1, 2].includes(m[2]), 'message');
    const out: OutboundMessage = { topic: m[0], payload: Buffer.from(m[1], 'base64'), qos: m[2], retain: m[3] === true };
    if (typeof m[4] === 'number') out.msgId = m[4];
    if (typeof m[5] === 'number') out.brokerId = m[5];
    return out;
  };
  const s = newSession(clientId, rec.link.nodeId === undefined ? { radio: rec.link.radio, address: rec.link.address } : { ...rec.link }, rec.lastSeen);
  s.state = rec.state;
  s.cleanSession = rec.cleanSession;
  s.keepAlive = rec.keepAlive;
  s.sleepDuration = rec.sleepDuration;
  s.sleepSince = rec.sleepSince;
  if (rec.will) {
    need(typeof rec.will.topic === 'string' && typeof rec.will.message === 'string', 'will');
    s.will = { topic: rec.will.topic, message: Buffer.from(rec.will.message, 'base64'), qos: rec.will.qos, retain: rec.will.retain };
  }
  if (rec.topics.length) {
    s.topics = new TopicRegistry();
    for (const [name, id] of rec.topics) {
      need(typeof name === 'string' && Number.isInteger(id), 'topic id');
      s.topics.set(name, id);
    }
  }
  s.nextTopicId = rec.nextTopicId;
  if (rec.subscriptions.length) {
    s.subscriptions = new SmallMap();
    for (const sub of rec.subscriptions) {
      need(typeof sub?.filter === 'string' && [0, 1, 2].includes(sub.qos), 'subscription');
      const made = { filter: sub.filter, qos: sub.qos, topicIdType: sub.topicIdType };
      // The predefined id it was made by, so UNSUBSCRIBE by that id still finds it after a restart.
      s.subscriptions.set(sub.filter, Number.isInteger(sub.topicId) ? { ...made, topicId: sub.topicId } : made);
    }
  }
  if (rec.queue.length) s.queue = rec.queue.map(message);
  if (rec.inflight.length) s.inflight = rec.inflight.map((f) => ({
    step: f.step, msgId: f.msgId, message: f.message ? message(f.message) : undefined,
    topicId: f.topicId, topicIdType: f.topicIdType, sentAt: 0, retries: 0,
  }));
  s.nextMsgId = rec.nextMsgId;
  if (rec.incoming.length) {
    s.incoming = new IncomingPublishes();
    for (const [id, state, held] of rec.incoming) {
      need(Number.isInteger(id) && ['qos1-publishing', 'qos2-publishing', 'qos2-received'].includes(state), 'incoming publish');
      s.incoming.set(id, held
        ? { state, message: { topic: held[0], topicId: held[1], payload: Buffer.from(held[2], 'base64'), retain: held[3] } }
        : { state });
    }
  }
  if (rec.pendingPubrel.length) s.pendingPubrel = [...rec.pendingPubrel];
  s.dropped = rec.dropped;
  return s;
}
