/**
 * `upstream`: the aggregating upstream alone (no radio, no core) against the bench's Mosquitto, its
 * publish() as shipped (pre-encoded packets, own QoS 1 ids) against mqtt.js's publish() (the path before),
 * in alternating rounds in this one process, so that load from elsewhere on the machine falls on both
 * alike. Figure: CPU of this process per acknowledged (QoS 1) or written (QoS 0) message, min and median
 * over the rounds. QoS 1 keeps `inFlight` messages outstanding (like 50 sensors, one each); QoS 0
 * publishes `inFlight` messages per event-loop turn.
 */
import { parseConfig } from '../../gateway/config/config.js';
import { MqttUpstream } from '../../gateway/broker/mqtt-upstream.js';
import type { Upstream } from '../../gateway/broker/upstream.js';
import { waitUntil, sleep } from './timing.js';
import { publishThroughMqttJs } from './what-if.js';

export interface PathFigures { variant: string; qos: 0 | 1; usPerMessage: number[]; messagesPerSecond: number[] }

const PAYLOAD = Buffer.from('temp=21.5C;ok');

export async function measureUpstreamPath(brokerUrl: string, options = { rounds: 6, roundMs: 1500, inFlight: 50 }): Promise<PathFigures[]> {
  const config = parseConfig(`broker: { url: ${brokerUrl}, clientId: bench-path-${process.pid} }\nhttp: false\nstatus: false\n`, 'bench-path.yaml');
  const upstream = new MqttUpstream({ url: brokerUrl, broker: config.broker, maxQueued: 100_000 });
  await upstream.start({ message: () => undefined, connectionChanged: () => {}, log: () => {} });
  if (!(await waitUntil(() => upstream.connected, 10_000))) throw new Error('upstream did not connect');
  const shipped = upstream.publish.bind(upstream);
  const variants: [string, Upstream['publish']][] = [['pre-encoded (shipped)', shipped], ['mqtt.js publish()', publishThroughMqttJs(upstream)]];
  const figures: PathFigures[] = [];
  for (const qos of [1, 0] as const) {
    const byVariant = variants.map(([variant]) => ({ variant, qos, usPerMessage: [] as number[], messagesPerSecond: [] as number[] }));
    for (let round = 0; round < options.rounds; round++) {
      for (let v = 0; v < variants.length; v++) {
        upstream.publish = variants[v][1];
        const { messages, cpuMs, seconds } = await (qos === 1 ? closedLoop(upstream, options) : perTurn(upstream, options));
        byVariant[v].usPerMessage.push((1000 * cpuMs) / messages);
        byVariant[v].messagesPerSecond.push(messages / seconds);
      }
    }
    figures.push(...byVariant);
  }
  upstream.publish = shipped;
  await upstream.stop();
  return figures;
}

interface Round { messages: number; cpuMs: number; seconds: number }

/** QoS 1, `inFlight` outstanding: each acknowledgement sends the next. */
async function closedLoop(upstream: Upstream, options: { roundMs: number; inFlight: number }): Promise<Round> {
  let acked = 0;
  let running = true;
  let outstanding = 0;
  const send = (): void => {
    outstanding++;
    upstream.publish('bench/path/q1', PAYLOAD, 1, false, onAck);
  };
  const onAck = (): void => {
    outstanding--;
    acked++;
    if (running) send();
  };
  for (let i = 0; i < options.inFlight; i++) send();
  await sleep(200); // warm
  const cpu = process.cpuUsage();
  const at = performance.now();
  const ackedAtStart = acked;
  await sleep(options.roundMs);
  const used = process.cpuUsage(cpu);
  const result = { messages: acked - ackedAtStart, cpuMs: (used.user + used.system) / 1000, seconds: (performance.now() - at) / 1000 };
  running = false;
  await waitUntil(() => outstanding === 0, 10_000);
  return result;
}

/**
 * QoS 0, `inFlight` publishes per event-loop turn; while the socket has more queued than the kernel takes,
 * it waits for 'drain' (counting only what went out, not what piled up in memory).
 */
async function perTurn(upstream: Upstream, options: { roundMs: number; inFlight: number }): Promise<Round> {
  const stream = (upstream as unknown as { client: { stream: NodeJS.WritableStream & { writableNeedDrain: boolean } } }).client.stream;
  let written = 0;
  const end = performance.now() + options.roundMs;
  const cpu = process.cpuUsage();
  const at = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < options.inFlight; i++) upstream.publish('bench/path/q0', PAYLOAD, 0, false, undefined);
    written += options.inFlight;
    await new Promise((resolve) => setImmediate(resolve));
    if (stream.writableNeedDrain) await new Promise((resolve) => stream.once('drain', resolve));
  }
  const used = process.cpuUsage(cpu);
  return { messages: written, cpuMs: (used.user + used.system) / 1000, seconds: (performance.now() - at) / 1000 };
}
