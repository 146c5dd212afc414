/**
 * The load generator: a child process of bench/gateway.ts, so the sensors, the MQTT subscriber and the
 * MQTT publisher never share the gateway's event loop (nor its heap, which the memory benchmark weighs).
 * It runs one Command at a time from the IPC channel and answers with one Result (bench/lib/protocol.ts).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { MsgType } from '../../sn-codec/index.js';
import { BenchSensor, openSensors, PUBACK_MSGID_OFFSET, PUBACK_RC_OFFSET, PublishTemplate } from './bench-sensor.js';
import type { BurstResult, Command, ConnectManyResult, CrowdResult, FanoutResult, Qos0Result, Qos1Result, Reply, Result, SleepersPublishResult, Target } from './protocol.js';
import { SensorCrowd } from './sensor-crowd.js';
import { MONOTONIC_BASE_MS, percentile, percentiles, sleep, waitSettled } from './timing.js';

/** 13 bytes: with the 7-byte header a 20-byte PUBLISH, as in bench/codec.ts. */
const PAYLOAD = Buffer.from('temp=21.5C;ok');
/** Keep-alive the sensors announce: longer than any scenario, so none is lost for silence. */
const KEEP_ALIVE_S = 600;
/**
 * A paced sender sends at most this many milliseconds' worth of messages in one go. When its timer
 * was late by more, the excess is skipped (counted) rather than sent as one burst: a burst of the
 * load generator's own making would overflow the gateway's receive buffer and be blamed on the gateway.
 */
const MAX_BURST_MS = 2;

/** Calls `send(n)` about every millisecond with the number of messages due at `rate`; returns a stop function. */
function pace(rate: number, send: (count: number) => void, onSkipped: (count: number) => void): () => void {
  const startedAt = performance.now();
  const maxBurst = Math.max(1, Math.ceil((rate * MAX_BURST_MS) / 1000));
  let accounted = 0;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    const target = Math.floor((rate * (performance.now() - startedAt)) / 1000);
    const owed = target - accounted;
    accounted = target;
    const burst = Math.min(maxBurst, owed);
    if (owed > burst) onSkipped(owed - burst);
    if (burst > 0) send(burst);
    setTimeout(tick, 1);
  };
  tick();
  return () => { stopped = true; };
}

/** A QoS 1 PUBLISH with no PUBACK for this long is given up (counted as stalled) and the next one goes. */
const STALL_MS = 1000;

function reply(message: Reply): void {
  process.send!(message);
}

/** Measures this process's CPU between window start and end, and tells the gateway's process about both. */
class Window {
  private cpuAtStart: NodeJS.CpuUsage | undefined;
  cpuMs = 0;

  start(): void {
    this.cpuAtStart = process.cpuUsage();
    reply({ kind: 'window', phase: 'start' });
  }

  end(): void {
    const used = process.cpuUsage(this.cpuAtStart);
    this.cpuMs = (used.user + used.system) / 1000;
    reply({ kind: 'window', phase: 'end' });
  }
}

/** A plain MQTT client counting what the broker delivers on a filter. */
class Subscriber {
  count = 0;
  /** While on, a stamped message's time from the sensor's send to its delivery here is kept. */
  measuring = false;
  private readonly delays: Float64Array | undefined;
  private delayCount = 0;
  private constructor(private readonly client: MqttClient, stamped: boolean) {
    this.delays = stamped ? new Float64Array(4_000_000) : undefined;
    client.on('message', (_topic, payload: Buffer) => {
      this.count++;
      if (this.measuring && this.delays && this.delayCount < this.delays.length) {
        this.delays[this.delayCount++] = MONOTONIC_BASE_MS + performance.now() - payload.readDoubleBE(0);
      }
    });
  }

  /** `stamped`: the messages carry their send time (PublishTemplate.stamp). */
  static async open(target: Target, filter: string, stamped = false): Promise<Subscriber> {
    const client = await mqtt.connectAsync(target.brokerUrl, { clientId: `bench-sub-${process.pid}-${Date.now()}`, reconnectPeriod: 0 });
    await client.subscribeAsync(filter, { qos: 0 });
    return new Subscriber(client, stamped);
  }

  delayFigures(): Qos1Result['latencyMs'] | undefined {
    return this.delays && percentiles(this.delays, this.delayCount);
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

async function connectSensors(target: Target, count: number, prefix: string, cleanSession = true): Promise<BenchSensor[]> {
  const sensors = await openSensors(count, target.gatewayPort);
  await Promise.all(sensors.map((s, i) => s.connect(`${prefix}-${i}`, KEEP_ALIVE_S, cleanSession)));
  return sensors;
}

async function closeAll(sensors: BenchSensor[]): Promise<void> {
  await Promise.all(sensors.map((s) => s.close()));
}

// ─────────────────────────────── QoS 1, one in flight per sensor ───────────────────────────────

interface Qos1Sensor {
  sensor: BenchSensor;
  template: PublishTemplate;
  msgId: number;
  inFlight: boolean;
  sentAt: number;
}

async function runQos1(cmd: Extract<Command, { kind: 'qos1' }>): Promise<Qos1Result> {
  const subscriber = await Subscriber.open(cmd.target, 'bench/qos1/#', true);
  const sensors = await connectSensors(cmd.target, cmd.sensors, 'qos1', cmd.cleanSession ?? true);
  const topicIds = await Promise.all(sensors.map((s, i) => s.register(`bench/qos1/${i}`)));

  const latencies = new Float64Array(4_000_000);
  let samples = 0;
  let ackedTotal = 0;
  let rejected = 0;
  let stalled = 0;
  let measuring = false;
  let running = true;
  const paced = cmd.rate;

  const sendNext = (st: Qos1Sensor): void => {
    st.msgId = st.msgId >= 0xffff ? 1 : st.msgId + 1;
    st.inFlight = true;
    st.sentAt = performance.now();
    st.template.stamp(MONOTONIC_BASE_MS + st.sentAt);
    st.sensor.send(st.template.setMsgId(st.msgId));
  };

  const states: Qos1Sensor[] = sensors.map((sensor, i) => ({
    sensor, template: new PublishTemplate(1, topicIds[i], PAYLOAD), msgId: 0, inFlight: false, sentAt: 0,
  }));
  for (const st of states) {
    st.sensor.onFrame = (frame) => {
      if (frame[1] !== MsgType.PUBACK || !st.inFlight || frame.readUInt16BE(PUBACK_MSGID_OFFSET) !== st.msgId) return;
      const now = performance.now();
      st.inFlight = false;
      if (frame[PUBACK_RC_OFFSET] === 0) {
        ackedTotal++;
        if (measuring && samples < latencies.length) latencies[samples++] = now - st.sentAt;
      } else {
        rejected++;
      }
      if (running && paced === undefined) sendNext(st);
    };
  }
  const watchdog = setInterval(() => {
    const now = performance.now();
    for (const st of states) {
      if (st.inFlight && now - st.sentAt > STALL_MS) {
        stalled++;
        if (running && paced === undefined) sendNext(st);
        else st.inFlight = false;
      }
    }
  }, 100);

  // Closed loop: each sensor's next PUBLISH goes when its PUBACK arrives. Paced: a timer hands PUBLISHes
  // to free sensors (still one in flight each) at `rate`; when none is free the message is skipped.
  let skipped = 0;
  let stopPacer: (() => void) | undefined;
  if (paced === undefined) {
    for (const st of states) sendNext(st);
  } else {
    let next = 0;
    stopPacer = pace(paced, (count) => {
      for (let k = 0; k < count; k++) {
        let tries = 0;
        while (states[next].inFlight && tries++ < states.length) next = next + 1 === states.length ? 0 : next + 1;
        if (states[next].inFlight) {
          skipped++;
          continue;
        }
        sendNext(states[next]);
        next = next + 1 === states.length ? 0 : next + 1;
      }
    }, (count) => { skipped += count; });
  }
  const { seconds, acked, delivered, cpuMs } = await measuredWindow(cmd, () => ackedTotal, () => subscriber.count, (on) => {
    measuring = on;
    subscriber.measuring = on;
  });

  running = false;
  stopPacer?.();
  await waitSettled(() => ackedTotal + rejected + stalled, 300, STALL_MS + 500);
  await waitSettled(() => subscriber.count, 500, 10_000);
  clearInterval(watchdog);
  const result: Qos1Result = {
    kind: 'qos1', seconds, acked, delivered, ackedTotal, deliveredTotal: subscriber.count, rejected, stalled, skipped,
    latencyMs: percentiles(latencies, samples),
    deliveryMs: subscriber.delayFigures(),
    cpuMs,
  };
  await closeAll(sensors);
  await subscriber.close();
  return result;
}

/**
 * The measured part of a closed-loop run, after its warm-up: `measure` is on for exactly the window, and
 * the acknowledged and delivered counts and this process's CPU are taken over it.
 */
async function measuredWindow(
  cmd: { warmupMs: number; durationMs: number },
  ackedSoFar: () => number,
  deliveredSoFar: () => number,
  measure: (on: boolean) => void,
): Promise<{ seconds: number; acked: number; delivered: number; cpuMs: Window['cpuMs'] }> {
  await sleep(cmd.warmupMs);
  const window = new Window();
  window.start();
  measure(true);
  const startedAt = performance.now();
  const ackedAtStart = ackedSoFar();
  const deliveredAtStart = deliveredSoFar();
  await sleep(cmd.durationMs);
  const seconds = (performance.now() - startedAt) / 1000;
  const acked = ackedSoFar() - ackedAtStart;
  const delivered = deliveredSoFar() - deliveredAtStart;
  measure(false);
  window.end();
  return { seconds, acked, delivered, cpuMs: window.cpuMs };
}

// ─────────────────────────────── direct: plain MQTT clients, no gateway ───────────────────────────────

/**
 * The physical limit the gateway is held against: `clients` mqtt.js clients publishing QoS 1 straight
 * to the broker, each sending its next PUBLISH when the PUBACK of the last comes (lock-step, like a sensor).
 */
async function runDirect(cmd: Extract<Command, { kind: 'direct' }>): Promise<Qos1Result> {
  const subscriber = await Subscriber.open(cmd.target, 'bench/direct/#');
  const clients = await Promise.all(Array.from({ length: cmd.clients }, (_, i) =>
    mqtt.connectAsync(cmd.target.brokerUrl, { clientId: `bench-direct-${process.pid}-${i}`, reconnectPeriod: 0 })));
  const latencies = new Float64Array(4_000_000);
  let samples = 0;
  let ackedTotal = 0;
  let measuring = false;
  let running = true;
  // Callbacks, not publishAsync: no Promise per message, so this side is as lean as the sensors' raw
  // frames can make the other (the clients themselves stay plain mqtt.js, as issue 13 defines them).
  let stopped = 0;
  let allStopped: () => void = () => {};
  const loopsDone = new Promise<void>((resolve) => { allStopped = resolve; });
  clients.forEach((client, i) => {
    const topic = `bench/direct/${i}`;
    let sentAt = 0;
    const next = (): void => {
      sentAt = performance.now();
      client.publish(topic, PAYLOAD, { qos: 1 }, onAck);
    };
    const onAck = (err?: Error): void => {
      if (err) throw err;
      ackedTotal++;
      if (measuring && samples < latencies.length) latencies[samples++] = performance.now() - sentAt;
      if (running) next();
      else if (++stopped === clients.length) allStopped();
    };
    next();
  });
  const { seconds, acked, delivered, cpuMs } = await measuredWindow(cmd, () => ackedTotal, () => subscriber.count, (on) => { measuring = on; });
  running = false;
  await loopsDone;
  await waitSettled(() => subscriber.count, 500, 10_000);
  const result: Qos1Result = {
    kind: 'qos1', seconds, acked, delivered, ackedTotal, deliveredTotal: subscriber.count, rejected: 0, stalled: 0, skipped: 0,
    latencyMs: percentiles(latencies, samples), cpuMs,
  };
  await Promise.all(clients.map((c) => c.endAsync()));
  await subscriber.close();
  return result;
}

// ─────────────────────────────── QoS 0 at a paced rate ───────────────────────────────

async function runQos0(cmd: Extract<Command, { kind: 'qos0' }>): Promise<Qos0Result> {
  const subscriber = await Subscriber.open(cmd.target, 'bench/qos0/#');
  const sensors = await connectSensors(cmd.target, cmd.sensors, `qos0-${cmd.rate}`);
  const topicIds = await Promise.all(sensors.map((s, i) => s.register(`bench/qos0/${i}`)));
  // QoS 0 frames carry MsgId 0: one constant frame per sensor, safe to hand to send() again and again.
  const frames = topicIds.map((id) => new PublishTemplate(0, id, PAYLOAD).frame);
  const window = new Window();
  window.start();
  const startedAt = performance.now();
  let sent = 0;
  let skipped = 0;
  let next = 0;
  const stop = pace(cmd.rate, (count) => {
    for (let k = 0; k < count; k++) {
      sensors[next].send(frames[next]);
      next = next + 1 === sensors.length ? 0 : next + 1;
    }
    sent += count;
  }, (count) => { skipped += count; });
  await sleep(cmd.durationMs);
  stop();
  const seconds = (performance.now() - startedAt) / 1000;
  window.end();

  await waitSettled(() => subscriber.count, 750, 15_000);
  const result: Qos0Result = { kind: 'qos0', seconds, sent, skipped, delivered: subscriber.count, cpuMs: window.cpuMs };
  await closeAll(sensors);
  await subscriber.close();
  return result;
}

// ─────────────────────────────── many connected sensors ───────────────────────────────

/** Crowds stay connected until `releaseMany`, so the gateway's memory can be read with them all on. */
const crowds: SensorCrowd[] = [];

async function runConnectMany(cmd: Extract<Command, { kind: 'connectMany' }>): Promise<ConnectManyResult> {
  const startedAt = performance.now();
  const crowd = await SensorCrowd.open(cmd.sensors, cmd.forwarders, cmd.target.gatewayPort, `crowd${crowds.length}`);
  crowds.push(crowd);
  await crowd.connectAll(KEEP_ALIVE_S);
  if (cmd.register) await crowd.registerAll();
  return {
    kind: 'connectMany', connected: crowd.connectedCount, sockets: crowd.socketCount, resent: crowd.resent, refused: crowd.refused,
    seconds: (performance.now() - startedAt) / 1000,
  };
}

async function runCrowdTopics(cmd: Extract<Command, { kind: 'crowdTopics' }>): Promise<CrowdResult> {
  const startedAt = performance.now();
  for (const crowd of crowds) {
    await crowd.registerAll();
    if (cmd.subscribe) await crowd.subscribeAll();
  }
  return crowdResult((performance.now() - startedAt) / 1000, 0);
}

function crowdResult(seconds: number, cpuMs: number): CrowdResult {
  const sum = (f: (c: SensorCrowd) => number): number => crowds.reduce((n, c) => n + f(c), 0);
  return { kind: 'crowd', seconds, sent: sum((c) => c.sent), resent: sum((c) => c.resent), refused: sum((c) => c.refused), cpuMs };
}

/** Rate 0: the crowd sits idle (keep-alive far away) for the window; else QoS 0 PUBLISHes spread evenly over every sensor. */
async function runCrowdPublish(cmd: Extract<Command, { kind: 'crowdPublish' }>): Promise<CrowdResult> {
  const subscriber = cmd.subscriber && await Subscriber.open({ gatewayPort: 0, brokerUrl: cmd.subscriber.brokerUrl }, cmd.subscriber.filter);
  const window = new Window();
  window.start();
  const startedAt = performance.now();
  let stop: (() => void) | undefined;
  if (cmd.rate > 0) {
    let crowdIndex = 0;
    let next = 0;
    stop = pace(cmd.rate, (count) => {
      next = crowds[crowdIndex].publishSome(next, count, PAYLOAD, cmd.port);
      if (next === 0) crowdIndex = (crowdIndex + 1) % crowds.length;
    }, () => {});
  }
  await sleep(cmd.durationMs);
  stop?.();
  const seconds = (performance.now() - startedAt) / 1000;
  window.end();
  const result = crowdResult(seconds, window.cpuMs);
  if (subscriber) {
    await waitSettled(() => subscriber.count, 500, 10_000);
    result.delivered = subscriber.count;
    await subscriber.close();
  }
  return result;
}

// ─────────────────────────────── broker → sensors fan-out ───────────────────────────────

/**
 * One MQTT client publishes `messages` messages; every sensor is subscribed (to `filter`, at `qos`).
 * Sensors answer the gateway's REGISTER (a wildcard subscription, §6.10) and, at QoS 1, each PUBLISH with PUBACK.
 */
async function runFanout(cmd: Extract<Command, { kind: 'fanout' }>): Promise<FanoutResult> {
  const qos = cmd.qos ?? 0;
  const filter = cmd.filter ?? 'bench/fanout';
  const topic = filter.endsWith('#') ? filter.replace('#', 'x') : filter;
  const sensors = await connectSensors(cmd.target, cmd.sensors, `fanout-q${qos}`);
  await Promise.all(sensors.map((s) => s.subscribe(filter, 1, qos)));
  let delivered = 0;
  let duplicates = 0;
  let lastAt = 0;
  for (const s of sensors) {
    s.onFrame = (frame) => {
      if (frame[1] === MsgType.REGISTER) {
        // REGACK: TopicId and MsgId as in the REGISTER, accepted.
        s.send(Buffer.from([7, MsgType.REGACK, frame[2], frame[3], frame[4], frame[5], 0]));
        return;
      }
      if (frame[1] !== MsgType.PUBLISH) return;
      if (frame[2] & 0x80) duplicates++;
      else delivered++;
      lastAt = performance.now();
      // PUBACK: TopicId, MsgId, accepted.
      if ((frame[2] & 0x60) === 0x20) s.send(Buffer.from([7, MsgType.PUBACK, frame[3], frame[4], frame[5], frame[6], 0]));
    };
  }
  const publisher = await mqtt.connectAsync(cmd.target.brokerUrl, { clientId: `bench-pub-${process.pid}-${Date.now()}`, reconnectPeriod: 0 });
  const expected = cmd.messages * cmd.sensors;

  const window = new Window();
  window.start();
  const startedAt = performance.now();
  for (let i = 0; i < cmd.messages; i++) {
    publisher.publish(topic, PAYLOAD, { qos });
    // Let the socket drain now and then instead of buffering every message in mqtt.js first.
    if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
  }
  await waitSettled(() => delivered, 1000, 120_000);
  const seconds = (lastAt - startedAt) / 1000;
  window.end();

  await publisher.endAsync();
  await closeAll(sensors);
  return { kind: 'fanout', published: cmd.messages, expected, delivered, duplicates, seconds, cpuMs: window.cpuMs };
}

// ─────────────────────────────── sleeping sensors' buffers ───────────────────────────────

let sleepers: BenchSensor[] = [];

async function runSleepers(cmd: Extract<Command, { kind: 'sleepers' }>): Promise<{ kind: 'sleepers' }> {
  sleepers = await connectSensors(cmd.target, cmd.sensors, 'sleeper', false);
  await Promise.all(sleepers.map((s) => s.subscribe(cmd.topic, 1, 1)));
  await Promise.all(sleepers.map((s) => s.sleep(3600)));
  return { kind: 'sleepers' };
}

async function runSleepersPublish(cmd: Extract<Command, { kind: 'sleepersPublish' }>): Promise<SleepersPublishResult> {
  const publisher = await mqtt.connectAsync(cmd.target.brokerUrl, { clientId: `bench-sleep-pub-${process.pid}-${Date.now()}`, reconnectPeriod: 0 });
  const window = new Window();
  window.start();
  const startedAt = performance.now();
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < cmd.messages; i++) {
    acks.push(publisher.publishAsync(cmd.topic, PAYLOAD, { qos: 1 }));
    if (i % 100 === 99) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(acks);
  const seconds = (performance.now() - startedAt) / 1000;
  window.end();
  await publisher.endAsync();
  return { kind: 'sleepersPublish', seconds, cpuMs: window.cpuMs };
}

// ─────────────────────────────── QoS 1 bursts: sensors publishing in the same instant ───────────────────────────────

async function runBurst(cmd: Extract<Command, { kind: 'burst' }>): Promise<BurstResult> {
  const sensors = await connectSensors(cmd.target, cmd.sensors, 'burst');
  const templates = await Promise.all(sensors.map(async (s, i) => new PublishTemplate(1, await s.register(`bench/burst/${i}`), PAYLOAD)));
  const latencies = new Float64Array(cmd.rounds * cmd.sensors);
  let samples = 0;
  let stalled = 0;
  for (let round = 1; round <= cmd.rounds; round++) {
    const msgId = round % 0xffff || 1;
    const sentAt = performance.now();
    await new Promise<void>((resolve) => {
      let answered = 0;
      const timer = setTimeout(() => {
        stalled += sensors.length - answered;
        resolve();
      }, STALL_MS);
      sensors.forEach((sensor, i) => {
        sensor.onFrame = (frame) => {
          if (frame[1] !== MsgType.PUBACK || frame.readUInt16BE(PUBACK_MSGID_OFFSET) !== msgId || frame[PUBACK_RC_OFFSET] !== 0) return;
          latencies[samples++] = performance.now() - sentAt;
          if (++answered === sensors.length) {
            clearTimeout(timer);
            resolve();
          }
        };
        sensor.send(templates[i].setMsgId(msgId));
      });
    });
    await sleep(1);
  }
  await closeAll(sensors);
  const at = (p: number): number => percentile(latencies, samples, p);
  return { kind: 'burst', acked: samples, stalled, latencyMs: { p50: at(50), p90: at(90), p99: at(99), max: at(100) } };
}

// ─────────────────────────────── command loop ───────────────────────────────

async function run(cmd: Command): Promise<Result> {
  switch (cmd.kind) {
    case 'qos1': return runQos1(cmd);
    case 'qos0': return runQos0(cmd);
    case 'burst': return runBurst(cmd);
    case 'connectMany': return runConnectMany(cmd);
    case 'releaseMany':
      await Promise.all(crowds.splice(0).map((c) => c.close()));
      return { kind: 'released' };
    case 'fanout': return runFanout(cmd);
    case 'direct': return runDirect(cmd);
    case 'crowdTopics': return runCrowdTopics(cmd);
    case 'crowdPublish': return runCrowdPublish(cmd);
    case 'sleepers': return runSleepers(cmd);
    case 'sleepersPublish': return runSleepersPublish(cmd);
    case 'releaseSleepers':
      await closeAll(sleepers.splice(0));
      return { kind: 'released' };
    case 'exit':
      setImmediate(() => process.exit(0));
      return { kind: 'exiting' };
  }
}

process.on('message', (cmd: Command) => {
  run(cmd).then(
    (result) => reply({ kind: 'result', result }),
    (err: unknown) => reply({ kind: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) }),
  );
});
