/**
 * What bench/gateway.ts (the gateway's process) and bench/lib/load-generator.ts (a child process)
 * say to each other over the IPC channel: one command at a time, answered by one result.
 * While a command runs, the load generator marks the start and end of its measuring window so the
 * gateway's process can measure its own CPU over exactly that window.
 */

/** Where the sensors and the MQTT clients connect. */
export interface Target {
  gatewayPort: number;
  brokerUrl: string;
}

export type Command =
  /** rate undefined: closed loop (next PUBLISH on PUBACK); else paced at `rate` msg/s, still one in flight per sensor. */
  | { kind: 'qos1'; target: Target; sensors: number; warmupMs: number; durationMs: number; rate?: number; cleanSession?: boolean }
  | { kind: 'qos0'; target: Target; sensors: number; rate: number; durationMs: number }
  /**
   * `sensors` sensors PUBLISH QoS 1 in the same instant, round after round: the next round 1 ms after the
   * last PUBACK of this one. What a few sensors waking together meet, with nothing else in flight.
   */
  | { kind: 'burst'; target: Target; sensors: number; rounds: number }
  /**
   * CONNECTs many more sensors and keeps them (and those of earlier connectMany commands) connected
   * until `releaseMany`. forwarders = 0: one UDP socket per sensor.
   */
  | { kind: 'connectMany'; target: Target; sensors: number; forwarders: number; register?: boolean }
  | { kind: 'releaseMany' }
  | { kind: 'fanout'; target: Target; sensors: number; messages: number; qos?: 0 | 1; filter?: string }
  /** Plain MQTT clients publishing QoS 1 straight to the broker, one in flight each: the path without the gateway. */
  | { kind: 'direct'; target: Target; clients: number; warmupMs: number; durationMs: number }
  /**
   * The connected crowd (connectMany) REGISTERs one topic and SUBSCRIBEs one filter per sensor; then
   * `crowdPublish` spreads QoS 0 PUBLISHes over the crowd at `rate` msg/s (rate 0: idle) for durationMs.
   */
  | { kind: 'crowdTopics'; subscribe: boolean }
  /**
   * `port`: send to this UDP port instead of the gateway's (a bare socket there measures the floor).
   * `subscriber`: a plain MQTT client on this filter at brokerUrl, opened before the window and counting
   * what it receives (result.delivered).
   */
  | { kind: 'crowdPublish'; rate: number; durationMs: number; port?: number; subscriber?: { brokerUrl: string; filter: string } }
  /** Sensors (CleanSession=0) subscribe at QoS 1 and fall asleep (§6.14); then `sleepersPublish` sends them messages. */
  | { kind: 'sleepers'; target: Target; sensors: number; topic: string }
  /** An MQTT client publishes `messages` QoS 1 messages on `topic`, as fast as the broker takes them. */
  | { kind: 'sleepersPublish'; target: Target; topic: string; messages: number }
  | { kind: 'releaseSleepers' }
  | { kind: 'exit' };

export interface Qos1Result {
  kind: 'qos1';
  /** Length of the measuring window, after the warm-up. */
  seconds: number;
  /** PUBACKs (accepted) received in the window. */
  acked: number;
  /** Messages the MQTT subscriber received in the window. */
  delivered: number;
  /** Over the whole run, warm-up included: every accepted PUBLISH, and every message the subscriber saw after draining. */
  ackedTotal: number;
  deliveredTotal: number;
  /** PUBACKs with a return code other than accepted (e.g. congestion). */
  rejected: number;
  /** PUBLISHes with no PUBACK within the stall timeout: given up on, the sensor sent its next one. */
  stalled: number;
  /** Paced only: messages not sent because every sensor still had one in flight, or the pacer's timer was late (see MAX_BURST_MS). */
  skipped: number;
  latencyMs: { p50: number; p99: number; p999: number; max: number };
  /** From a sensor's send to the MQTT subscriber's receipt of the message (qos1 through the gateway). */
  deliveryMs?: { p50: number; p99: number; p999: number; max: number };
  cpuMs: number;
}

export interface BurstResult {
  kind: 'burst';
  /** PUBACKs (accepted) received, and PUBLISHes given up on after the stall timeout. */
  acked: number;
  stalled: number;
  /** From the round's PUBLISHes to each sensor's PUBACK. */
  latencyMs: { p50: number; p90: number; p99: number; max: number };
}

export interface Qos0Result {
  kind: 'qos0';
  seconds: number;
  sent: number;
  /** Messages not sent because the pacer's timer was late by more than a burst (see MAX_BURST_MS). */
  skipped: number;
  delivered: number;
  cpuMs: number;
}

export interface ConnectManyResult {
  kind: 'connectMany';
  connected: number;
  sockets: number;
  /** CONNECTs (and REGISTERs) sent again because no answer came in time. */
  resent: number;
  /** CONNACKs (or REGACKs) with a return code other than accepted. */
  refused: number;
  seconds: number;
}

export interface FanoutResult {
  kind: 'fanout';
  published: number;
  expected: number;
  delivered: number;
  /** From the first publish to the last delivery. */
  seconds: number;
  /** PUBLISHes a sensor saw twice (DUP set): a QoS 1 retransmission. */
  duplicates: number;
  cpuMs: number;
}

export interface CrowdResult {
  kind: 'crowd';
  seconds: number;
  sent: number;
  resent: number;
  refused: number;
  cpuMs: number;
  /** crowdPublish with a subscriber: messages it received (after draining). */
  delivered?: number;
}

export interface SleepersPublishResult {
  kind: 'sleepersPublish';
  /** From the first publish to the broker's last PUBACK. */
  seconds: number;
  cpuMs: number;
}

export type Result = CrowdResult | Qos1Result | BurstResult | Qos0Result | ConnectManyResult | FanoutResult | SleepersPublishResult | { kind: 'sleepers' } | { kind: 'released' } | { kind: 'exiting' };

export type Reply =
  | { kind: 'window'; phase: 'start' | 'end' }
  | { kind: 'result'; result: Result }
  | { kind: 'error'; message: string };
