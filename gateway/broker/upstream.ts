/**
 * The broker side of the gateway. An interface, so a transparent mode (one connection per sensor)
 * can sit beside the aggregating one later; the core only ever talks to this.
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
}

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
  publish(topic: string, payload: Buffer, qos: BrokerQoS, retain: boolean, done?: (result: PublishResult) => void): boolean;
  /** `done` runs with the QoS the broker granted (0x80 = refused) once it answered SUBACK. */
  subscribe(filter: string, qos: BrokerQoS, done?: (granted: number) => void): void;
  unsubscribe(filter: string): void;
}
