/**
 * /metrics in Prometheus' text format through prom-client. Counters the core already keeps are read
 * when Prometheus scrapes (collect), so the hot path pays nothing; only the broker acknowledgement
 * latency (a histogram) and drops by reason (an event) are recorded as they happen, here, without
 * prom-client: it is loaded on the first scrape (issue 13: a gateway nobody scrapes does not carry
 * its ~8 MB), and Node's process metrics (`process_*`, `nodejs_*`) start from then.
 * One registry per gateway, so several gateways in one process (tests) do not share numbers.
 */
import type { Registry } from 'prom-client';
import type { CoreStats } from '../core/core.js';
import { LatencyHistogram } from './latency-histogram.js';
import type { HttpSources } from './sources.js';

export interface GatewayMetrics {
  /** Every metric in Prometheus' text format, and its content type; the first call loads prom-client. */
  scrape(): Promise<{ contentType: string; text: string }>;
  /** Stops listening to the core. */
  close(): void;
}

/** Seconds: from sub-millisecond on loopback to a broker outage's worth. */
const ACK_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A core counter's metric name and help; null where another metric already carries it (and why). */
type StatMetric = readonly [name: string, help: string] | null;

/**
 * Every counter the core keeps, exported: a Record over CoreStats' keys, so a new counter does not
 * compile until it is given a metric here (or null, saying where it is shown instead).
 */
export const STAT_METRICS: Record<keyof CoreStats, StatMetric> = {
  framesIn: null, // mqttsn_frames_received_total, by radio and message type
  framesOut: null, // mqttsn_frames_sent_total, by radio and message type
  droppedForClients: null, // mqttsn_messages_dropped_total, by reason
  malformed: ['mqttsn_frames_malformed_total', 'Frames that did not decode: counted, logged, dropped'],
  unexpected: ['mqttsn_frames_unexpected_total', 'Well-formed frames that make no sense in the sender\'s state'],
  oversize: ['mqttsn_frames_oversize_total', 'Frames not sent: larger than the radio carries'],
  publishedToBroker: ['mqttsn_publishes_to_broker_total', 'Sensor PUBLISHes handed to the broker'],
  deliveredToClients: ['mqttsn_deliveries_total', 'PUBLISHes sent to sensors'],
  retries: ['mqttsn_retries_total', 'Messages sent again to sensors after T_RETRY (§6.13)'],
  congestion: ['mqttsn_congestion_total', 'Sensor PUBLISHes refused with congestion: the broker queue was full'],
  willsPublished: ['mqttsn_wills_published_total', 'Wills published for lost sensors'],
  internalErrors: ['mqttsn_internal_errors_total', 'Frames whose handling failed with a bug (logged with a stack)'],
  trailingNulStripped: ['mqttsn_trailing_nul_stripped_total', 'Name fields that arrived with one trailing NUL (C strlen + 1), stripped'],
  connectsRefused: ['mqttsn_connects_refused_total', 'CONNECTs answered with a refusing CONNACK'],
  unmappedDisconnects: ['mqttsn_unmapped_disconnects_total', 'DISCONNECTs sent to senders with no session (§5.4.21)'],
  unmappedDisconnectsSuppressed: ['mqttsn_unmapped_disconnects_suppressed_total', 'DISCONNECTs not sent: that sender had one less than a second ago'],
  refused: ['mqttsn_access_refused_total', 'CONNECT, REGISTER, PUBLISH, SUBSCRIBE or will refused by the access rules'],
  rateLimited: ['mqttsn_frames_rate_limited_total', 'Frames dropped unread: their sender exceeded its frame rate'],
};

export function createMetrics(sources: HttpSources): GatewayMetrics {
  // What happens between scrapes is kept from the start; everything else is read at scrape time.
  const dropsByReason = new Map<string, number>();
  const onDrop = (_clientId: string, _topic: string, reason: string): void => {
    dropsByReason.set(reason, (dropsByReason.get(reason) ?? 0) + 1);
  };
  sources.core.events.on('messageDropped', onDrop);
  const ackLatency = new LatencyHistogram(ACK_BUCKETS);
  sources.observeAcknowledgements((seconds) => ackLatency.observe(seconds));

  const labels = { gateway: String(sources.gatewayId) };
  let registry: Promise<Registry> | undefined;
  return {
    async scrape() {
      registry ??= createRegistry(sources, labels, dropsByReason).catch((err) => {
        registry = undefined; // the next scrape tries again
        throw err;
      });
      const loaded = await registry;
      const latency = ackLatency.prometheusText('mqttsn_broker_ack_seconds', 'From a QoS 1/2 publish to the broker\'s PUBACK/PUBCOMP', labels);
      return { contentType: loaded.contentType, text: `${await loaded.metrics()}\n${latency}` };
    },
    close: () => sources.core.events.off('messageDropped', onDrop),
  };
}

/** The prom-client registry, made on the first scrape; its metrics read the core and the recorders above. */
async function createRegistry(sources: HttpSources, labels: Record<string, string>, dropsByReason: ReadonlyMap<string, number>): Promise<Registry> {
  const { collectDefaultMetrics, Counter, Gauge, Registry } = await import('prom-client');
  const { core, radios, broker } = sources;
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  /** A counter whose value the core keeps: copied in at scrape time. */
  const fromStats = (name: string, help: string, key: keyof CoreStats) =>
    new Counter({ name, help, registers, collect() { this.reset(); this.inc(core.stats[key]); } });

  for (const direction of ['in', 'out'] as const) {
    new Counter({
      name: direction === 'in' ? 'mqttsn_frames_received_total' : 'mqttsn_frames_sent_total',
      help: `MQTT-SN frames ${direction === 'in' ? 'received' : 'sent (broadcasts included)'}, by radio and message type`,
      labelNames: ['radio', 'type'],
      registers,
      collect() {
        this.reset();
        for (const [radio, counts] of core.frameCounts.entries()) {
          for (const type in counts[direction]) this.inc({ radio, type }, counts[direction][type]);
        }
      },
    });
  }
  for (const [key, metric] of Object.entries(STAT_METRICS) as [keyof CoreStats, StatMetric][]) {
    if (metric) fromStats(metric[0], metric[1], key);
  }

  const embedded = sources.embeddedBroker;
  if (embedded) {
    new Counter({
      name: 'mqttsn_embedded_broker_early_acks_total',
      help: 'QoS 2 messages from MQTT clients of the embedded broker acknowledged before the session store held them (too many waiting, or one waited 10 s)',
      registers,
      collect() { this.reset(); this.inc(embedded.acknowledgedEarly); },
    });
  }

  new Counter({
    name: 'mqttsn_messages_dropped_total',
    help: 'Broker messages dropped for a sensor, by reason',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, count] of dropsByReason) this.inc({ reason }, count);
    },
  });

  new Gauge({
    name: 'mqttsn_clients',
    help: 'Sensors the gateway knows, by state',
    labelNames: ['state'],
    registers,
    collect() {
      const byState: Record<string, number> = { connecting: 0, active: 0, asleep: 0, awake: 0, lost: 0, disconnected: 0 };
      for (const session of core.sessionsById.values()) byState[session.state] = (byState[session.state] ?? 0) + 1;
      this.reset();
      for (const state in byState) this.set({ state }, byState[state]);
    },
  });
  new Gauge({
    name: 'mqttsn_messages_buffered',
    help: 'Broker messages waiting for sensors (asleep, away or behind the in-flight window)',
    registers,
    collect() {
      let sum = 0;
      for (const session of core.sessionsById.values()) sum += session.queue.length;
      this.set(sum);
    },
  });
  new Gauge({ name: 'mqttsn_broker_up', help: '1 while the broker connection is up', registers, collect() { this.set(broker.connected ? 1 : 0); } });
  new Gauge({ name: 'mqttsn_broker_pending', help: 'Messages handed to the broker and not yet acknowledged', registers, collect() { this.set(broker.pending); } });
  new Counter({
    name: 'mqttsn_broker_reconnects_total',
    help: 'Times the broker connection came back after being lost',
    registers,
    collect() { this.reset(); this.inc(Math.max(0, broker.connections - 1)); },
  });
  new Gauge({
    name: 'mqttsn_radio_up',
    help: '1 while the radio can carry frames',
    labelNames: ['radio', 'kind'],
    registers,
    collect() { for (const r of radios) this.set({ radio: r.name, kind: r.kind }, r.up ? 1 : 0); },
  });
  return registry;
}
