/**
 * How late an MQTT subscriber of the embedded broker gets the sensors' messages, with TCP_NODELAY on its
 * connection (as shipped) and without (Nagle's algorithm on, as aedes leaves it), in alternating rounds.
 * Messages are handed to the broker as the gateway hands a sensor's QoS 0 message (publishInProcess on
 * its in-memory connection), at random gaps; the subscriber runs in a child process and measures each
 * message from the send time written into its payload (a monotonic clock both processes read).
 * Run with `npm run bench:subscriber`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { startEmbeddedBroker } from '../gateway/broker/embedded-broker.js';
import { MONOTONIC_BASE_MS, percentiles } from './lib/timing.js';

const MESSAGES = 2000;
const ROUNDS = 3;
/** Gaps between messages: a timer of a random length in [0, max) ms (Node's timers wait at least 1 ms). */
const MAX_GAPS_MS = [2, 6, 20];
const PAYLOAD_BYTES = 20;
/** A delay at least this long is counted: a delayed TCP acknowledgement is 40 ms on Linux. */
const LATE_MS = 30;

const monotonicMs = (): number => MONOTONIC_BASE_MS + performance.now();

if (process.argv[2] === 'subscriber') {
  const client = await mqtt.connectAsync(process.argv[3]!, { clientId: `delivery-${process.pid}`, reconnectPeriod: 0 });
  await client.subscribeAsync('delivery/#', { qos: 0 });
  let delays: number[] = [];
  client.on('message', (topic, payload) => {
    if (topic === 'delivery/end') {
      process.send!(delays);
      delays = [];
    } else {
      delays.push(monotonicMs() - payload.readDoubleBE(0));
    }
  });
  process.on('disconnect', () => void client.endAsync(true));
  process.send!('ready');
} else {
  console.log(`node ${process.version}; ${MESSAGES} QoS 0 messages of ${PAYLOAD_BYTES} B per round, handed to the embedded broker in process, to one MQTT subscriber in another process`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const maxGapMs of MAX_GAPS_MS) {
      // Alternate which goes first, so neither always meets the machine in the same state.
      for (const noDelay of round % 2 === 0 ? [true, false] : [false, true]) {
        const { delays, seconds } = await measure(noDelay, maxGapMs);
        const n = delays.length;
        const late = delays.filter((d) => d >= LATE_MS).length;
        const { p50, p99, p999, max } = percentiles(Float64Array.from(delays), n);
        console.log(`round ${round + 1}, gaps 0–${maxGapMs} ms, ${noDelay ? 'TCP_NODELAY (shipped)' : 'Nagle (aedes default)'}: ` +
          `${n} delivered (${Math.round(MESSAGES / seconds)} msg/s); p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, ` +
          `p99.9 ${p999.toFixed(2)} ms, max ${max.toFixed(2)} ms; ${late} at ${LATE_MS} ms or later`);
      }
    }
  }
}

async function measure(noDelay: boolean, maxGapMs: number): Promise<{ delays: number[]; seconds: number }> {
  const broker = await startEmbeddedBroker({ port: 0, tcpNoDelay: noDelay });
  const subscriber = fork(fileURLToPath(import.meta.url), ['subscriber', broker.url], { execArgv: process.execArgv });
  try {
    await reply(subscriber);
    let connection: ReturnType<typeof broker.connect> | undefined;
    const gateway = new mqtt.MqttClient(() => (connection = broker.connect()), { clientId: 'gateway', reconnectPeriod: 0 });
    await new Promise<void>((resolve) => gateway.once('connect', () => resolve()));
    const payload = Buffer.alloc(PAYLOAD_BYTES);
    const startedAt = performance.now();
    for (let i = 0; i < MESSAGES; i++) {
      payload.writeDoubleBE(monotonicMs(), 0);
      // A copy each: the broker may still hold the last one when the next is stamped. Not taken in process
      // (the connection's CONNECT not yet through): down the connection, as the gateway does.
      const message = Buffer.from(payload);
      if (!broker.publishInProcess(connection!, `delivery/${i % 10}`, message, false, 0)) gateway.publish(`delivery/${i % 10}`, message, { qos: 0 });
      await new Promise((resolve) => setTimeout(resolve, Math.random() * maxGapMs));
    }
    const seconds = (performance.now() - startedAt) / 1000;
    const delivered = reply<number[]>(subscriber);
    if (!broker.publishInProcess(connection!, 'delivery/end', Buffer.alloc(0), false, 0)) gateway.publish('delivery/end', Buffer.alloc(0), { qos: 0 });
    const delays = await delivered;
    await gateway.endAsync(true);
    return { delays, seconds };
  } finally {
    subscriber.kill();
    await broker.close();
  }
}

function reply<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve(message as T));
    child.once('exit', (code) => reject(new Error(`subscriber exited (${code})`)));
  });
}
