/**
 * The broker side of the gateway; the core only ever talks to this. Aggregating mode (§4) is one
 * connection for everyone; transparent mode adds `openClient`, one broker session per sensor.
 */
import type { LogLevel } from '../../radios/radio.js';

export type BrokerQoS = 0 | 1 | 2;

/** The broker's packet id of a QoS 1/2 message, and whether the broker says it may have sent it before. */
export interface BrokerDelivery { id: number; dup: boolean }

export interface UpstreamSink {
  /**
   * A message from the broker. `retain` is as the broker set it (1 = sent because of a new subscription).
   * A returned promise delays the acknowledgement to the broker (QoS 1/2) until it resolves: the
   * message is then stored, so a crash before that leaves the broker holding it.
   */
  message(topic: string, payload: Buffer, qos: BrokerQoS, retain: boolean, delivery?: BrokerDelivery): Promise<void> | undefined;
  /** The broker connection came up (true) or went away (false). */
  connectionChanged(up: boolean): void;
  log(level: LogLevel, message: string): void;
}

export interface PublishResult {
  /** undefined = the broker accepted it (PUBACK / PUBCOMP for QoS 1/2, written for QoS 0). */
  error?: Error;
  /** The broker refused the message itself: its MQTT 5 reason code (>= 0x80, e.g. 0x87 not authorised). */
  refused?: number;
}

/** The result of every accepted publish: one shared object, not one per message. */
export const ACCEPTED: PublishResult = Object.freeze({});

/**
 * Who hears how a publish ended: a function, or an object whose published() is called. The core hands
 * in the record it keeps of a client's message anyway, so that a message needs no closure of its own
 * (issue 13: allocation per QoS 1 message).
 */
export type PublishDone = ((result: PublishResult) => void) | { published(result: PublishResult): void };

/** Tells `done` (if any) how the publish ended. */
export function reportPublished(done: PublishDone | undefined, result: PublishResult): void {
  if (done === undefined) return;
  if (typeof done === 'function') done(result);
  else done.published(result);
}

/** What a sensor's own broker session is opened with (transparent mode): the sensor's CONNECT, and its will. */
export interface ClientSessionOptions {
  clientId: string;
  cleanSession: boolean;
  /** Seconds; 0 = none. */
  keepAlive: number;
  will?: { topic: string; payload: Buffer; qos: BrokerQoS; retain: boolean };
}

/** Where a sensor's broker session reports to. */
export interface ClientSessionSink {
  /** A message the broker sent this sensor's session (it matched one of its subscriptions there). */
  message(topic: string, payload: Buffer, qos: BrokerQoS, retain: boolean): void;
  /** The broker ended the session without the gateway asking (taken over, kicked, broker gone). */
  closed(reason: string): void;
}

/** One sensor's own connection to the broker (transparent mode). */
export interface ClientSession {
  /** As Upstream.publish, on this sensor's connection. */
  publish(topic: string, payload: Buffer, qos: BrokerQoS, retain: boolean, done?: PublishDone): boolean;
  subscribe(filter: string, qos: BrokerQoS, done?: (granted: number) => void): void;
  unsubscribe(filter: string): void;
  /**
   * Ends the connection. `clean`: with DISCONNECT, so the broker drops the will; otherwise the connection
   * is cut, and the broker publishes the will (the sensor was lost). `done` once it is closed.
   */
  close(clean: boolean, done?: () => void): void;
}

export type OpenResult =
  | { session: ClientSession }
  /** `refused`: the broker answered CONNACK with a refusal; otherwise it could not be reached in time. */
  | { error: string; refused: boolean };

export interface Upstream {
  readonly connected: boolean;
  /** Messages accepted for the broker but not yet acknowledged by it. */
  readonly pending: number;
  start(sink: UpstreamSink): Promise<void>;
  stop(): Promise<void>;
  /**
   * Publishes to the broker. Returns false without publishing when the outgoing queue is full
   * (the caller answers the client with congestion). While the broker is away, messages are held
   * and sent when it returns; `done` runs once the broker has accepted the message.
   */
  publish(topic: string, payload: Buffer, qos: BrokerQoS, retain: boolean, done?: PublishDone): boolean;
  /** `done` runs with the QoS the broker granted (0x80 = refused) once it answered SUBACK. */
  subscribe(filter: string, qos: BrokerQoS, done?: (granted: number) => void): void;
  unsubscribe(filter: string): void;
  /**
   * Transparent mode only (absent when aggregating): opens a sensor's own broker session and calls `done`
   * once the broker answered its CONNECT. Messages to that sensor then arrive through `sink`, not UpstreamSink.
   */
  openClient?(options: ClientSessionOptions, sink: ClientSessionSink, done: (result: OpenResult) => void): void;
}
