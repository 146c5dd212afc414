/**
 * Whole-gateway benchmarks: real UDP sensors → the gateway → a real Mosquitto → an MQTT subscriber,
 * and back. Run with `npm run bench:gateway` (all scenarios, about ten minutes), or pick some:
 * `npm run bench:gateway -- memory qos1`. Figures are printed, nothing is asserted.
 * `--what-if=batch-writes,rcvbuf,...` measures a suspected bottleneck fixed from outside (bench/lib/what-if.ts).
 *
 * This process runs the gateway (Gateway.start, a config from parseConfig, the UDP radio on
 * 127.0.0.1, a free port) and nothing else heavy; the sensors and the MQTT clients run in a child
 * process (bench/lib/load-generator.ts) so they neither share the gateway's event loop nor weigh on
 * its memory. Mosquitto is started fresh on a free loopback port. Each scenario gets a fresh gateway.
 *
 * Scenarios:
 *  upstream  the aggregating upstream alone against Mosquitto: its publish() as shipped (pre-encoded packets)
 *          against mqtt.js's publish(), in alternating rounds in one process: CPU µs per message, QoS 1 and 0.
 *  memory  10,000 sensors CONNECTed, one UDP socket each; then 10,000 behind 100 forwarders (§5.5):
 *          the gateway process's heap and RSS growth per connected sensor after a full GC, from zero and
 *          marginal (5,000 → 10,000).
 *  qos1    50 sensors, QoS 1, one PUBLISH in flight each (the next goes on PUBACK), 1 s warm-up + 10 s:
 *          PUBACKs/s, messages/s at an MQTT subscriber, PUBACK latency seen by the sensor; then
 *          200 sensors paced at 20,000 msg/s in total (still one in flight each) for the latency there.
 *          In the same run, `direct`: 50 plain MQTT clients publishing QoS 1 straight to the same Mosquitto,
 *          one in flight each, and the gateway / direct ratio (issue 13's target: ≥ 1.0).
 *  ratio   qos1's closed loop and `direct` in 6 alternated rounds of 4 s each (the order swapped each round):
 *          each round's ratio and CPU per message of each side's processes, and the median ratio.
 *          `--broker=aedes` runs qos1 and ratio against aedes in a process of its own instead of Mosquitto.
 *  qos0    50 sensors, QoS 0 paced at 20,000 then 50,000 msg/s for 5 s each: sent, delivered, %.
 *  burst   2, then 10 sensors PUBLISH QoS 1 in the same instant, round after round (the next 1 ms after
 *          the last PUBACK): PUBACK latency, as shipped and without the prompt TCP acknowledgement
 *          (gateway/broker/prompt-ack.ts), alternated in one run on the same Mosquitto.
 *  fanout  50 sensors subscribed to one topic at QoS 0, an MQTT client publishes 10,000 messages:
 *          deliveries/s to the sensors; then 1,000 sensors on a wildcard subscription (§6.10, the gateway
 *          REGISTERs the topic first) at QoS 0 and at QoS 1 (sensors PUBACK), one broker message and then
 *          20: deliveries/s, completion time, and at QoS 1 that nothing was lost.
 *  kept    persistence off, then on (a fresh stateDir): the qos1 closed loop with CleanSession=0 sensors,
 *          then the sleeping-buffer run: 10 CleanSession=0 sensors subscribed at QoS 1 and asleep, an MQTT
 *          client publishes 20,000 QoS 1 messages; messages/s the gateway takes in (buffered for every sensor
 *          and, with persistence, stored before its PUBACK to the broker), and the on/off ratio.
 *  modes   aggregating vs transparent (broker.mode) side by side: 1,000 sensors CONNECTed (in transparent
 *          mode 1,000 broker connections), the gateway's heap and RSS per sensor and Mosquitto's RSS;
 *          then the QoS 1 closed loop (50 sensors, 1 in flight each) in each mode.
 *  crowd   10,000 sensors (one UDP socket each), each CONNECTed with one REGISTERed topic and one
 *          subscription, in two halves: heap and RSS per sensor after a full GC, from zero and marginal;
 *          the gateway's CPU with all of them idle for 10 s, then with 1,000 QoS 0 msg/s spread evenly
 *          over them for 10 s (µs per frame received in the window; the sensors send nothing else, no
 *          PINGREQ), after 10 s of the same traffic to warm up (printed too: the first seconds after the idle
 *          phase cost up to twice as much while V8 compiles the publish path); then the floor: the same stream to a bare UDP socket in this process.
 *          `--ab=<what-if>` adds alternating windows with and without a what-if.
 *          `--broker=embedded` (crowd, crowd100k, census and fanout only): the shipped gateway.yaml as a Raspberry Pi user runs it (no broker
 *          URL: the embedded aedes broker on a free loopback port, the gateway's connection to it in memory;
 *          persistence and the HTTP face on, as shipped; only ports and stateDir moved), no Mosquitto. aedes
 *          runs in the gateway's process, so the gateway's CPU figure includes it. The busy phase runs twice:
 *          with nobody subscribed at the broker, then with one plain MQTT subscriber (in the load generator,
 *          over TCP to the embedded broker's port) on `crowd/#`, which takes all 1,000 msg/s and so makes
 *          aedes write each message to a socket.
 *  crowd100k  100,000 sensors behind 1,000 forwarders (§5.5), each with one REGISTERed topic and one
 *          subscription: heap and RSS per sensor. `--broker=embedded`: the shipped config, its
 *          gateway.maxClients raised to let the crowd in.
 *  census  heap snapshots before and after the 10,000-sensor crowd, diffed: bytes per sensor by what each
 *          object is and what holds it (bench/lib/heap-census.ts); `--broker=embedded`: with the shipped
 *          config, the embedded aedes broker's objects counted among them.
 *  storm   100,000 sensors behind 1,000 forwarders (§5.5) CONNECT and REGISTER one topic as fast as the
 *          load generator sends (groups of 200, unanswered ones resent after 500 ms): seconds, refused,
 *          resent, RSS per sensor.
 *  timers  the core's timer tick alone (no sockets) with 10,000 and 100,000 idle sessions: µs per tick with the
 *          deadline heap, and what a pass over every session (the replaced sweep) costs.
 *  footprint  the daemon as users start it (`node bin/mqtt-sn-gateway.js`, the shipped gateway.yaml, only
 *          ports and stateDir moved), three starts: RSS idle after start-up, time from process start to the
 *          first CONNACK, RSS after that first sensor also published QoS 1; the modules it loaded per package;
 *          what the start-up spent CPU on, by origin (from --cpu-prof); what the bins' build check costs.
 * Each also prints the CPU used over its measuring window (percent of one core) by the gateway, the
 * load generator and Mosquitto, and the kernel's UDP receive-buffer drops.
 */
import { fork } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';
import { runInNewContext } from 'node:vm';
import { loadConfig, parseConfig } from '../gateway/config/config.js';
import type { UdpRadioConfig } from '../radios/udp.js';
import { Gateway } from '../gateway/gateway.js';
import type { MqttUpstream } from '../gateway/broker/mqtt-upstream.js';
import type { UdpRadio } from '../radios/udp.js';
import { startMosquitto } from '../test/support/mosquitto.js';
import { LoadGenerator } from './lib/load-client.js';
import type { BurstResult, ConnectManyResult, CrowdResult, FanoutResult, Qos0Result, Qos1Result, SleepersPublishResult, Target } from './lib/protocol.js';
import { measureFootprint } from './lib/footprint.js';
import { growth, takeCensus } from './lib/heap-census.js';
import { measureTick } from './lib/timer-tick.js';
import { measureUpstreamPath } from './lib/upstream-path.js';
import { ResidenceProbe } from './lib/residence-probe.js';
import { between, findChildPid, sample, type Counters, type WindowFigures } from './lib/system-counters.js';
import { sleep, waitUntil, type Percentiles } from './lib/timing.js';
import { applyWhatIfs, parseWhatIfs, UNDOABLE, undoWhatIfs, WHAT_IFS, type WhatIf } from './lib/what-if.js';
import { WindowProfiler } from './lib/window-profiler.js';
import { formatHeapFigures, HeapWindow, type HeapFigures } from '../test/support/heap-window.js';
import { qos1Sensors } from '../test/support/qos1-allocation.js';
import { AllocationProfiler } from './lib/allocation-profiler.js';

const SENSORS = 50;
/**
 * Closed loop first (the throughput), then paced (PUBACK latency at the roadmap's 20,000 msg/s) with
 * more sensors, so that a message rarely finds its sensor still waiting for the previous PUBACK.
 */
const QOS1 = { warmupMs: 1000, durationMs: 10_000, pacedRates: [20_000], pacedSensors: 200 };
const QOS0 = { rates: [20_000, 50_000], durationMs: 5000 };
const MEMORY = { sensors: 10_000, forwarders: 100 };
const FANOUT = { messages: 10_000, wideSensors: 1000, wideMessages: [1, 20] };
const CROWD = { sensors: 10_000, idleMs: 10_000, rate: 1000, warmupMs: 10_000, busyMs: 10_000, abRounds: 6, abWindowMs: 4000 };
const STORM = { sensors: 100_000, forwarders: 1000 };
const CROWD_100K = { sensors: 100_000, forwarders: 1000 };
const CENSUS = { sensors: 10_000, top: 40 };
const MODES = { sensors: 1000, qos1Seconds: 5 };

const SLEEP = { sensors: 10, messages: 20_000 };
const ALLOC = { warmup: 5000, messages: 20_000, rounds: 3 };

const RATIO = { rounds: 6, warmupMs: 1000, durationMs: 4000 };

type ScenarioName = 'alloc' | 'upstream' | 'timers' | 'footprint' | 'memory' | 'crowd' | 'crowd100k' | 'census' | 'storm' | 'qos1' | 'ratio' | 'qos0' | 'burst' | 'fanout' | 'kept' | 'modes';
const ALL: ScenarioName[] = ['alloc', 'upstream', 'timers', 'footprint', 'memory', 'crowd', 'crowd100k', 'census', 'storm', 'qos1', 'ratio', 'qos0', 'burst', 'fanout', 'kept', 'modes'];

// A full GC before each heap reading, without asking for `node --expose-gc` on the command line.
v8.setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function gatewayYaml(brokerUrl: string, mode: 'aggregating' | 'transparent', maxClients: number): string {
  return `
gateway:
  id: 1
  advertiseInterval: 0
  maxClients: ${maxClients}
persistence: false
broker:
  url: ${brokerUrl}
  mode: ${mode}
# Measured without the HTTP face and status topics, so figures compare with earlier runs.
http: false
status: false
radios:
  - { type: udp, host: 127.0.0.1, port: 10000, broadcastAddress: 127.0.0.1 }
`;
}

let whatIfs: WhatIf[] = [];
let pacedOnly = false;
/** `--ab=<what-if>`: the crowd's busy phase with and without it, alternating (crowdAb). */
let abWhatIf: WhatIf | undefined;

let runs = 0;

/**
 * The broker the crowd runs against: Mosquitto (default, its own process, its CPU counted apart), or
 * the embedded broker of the shipped config (in the gateway's process, counted in the gateway's CPU).
 */
type CrowdBroker = { kind: 'mosquitto'; url: string; pid: number | undefined } | { kind: 'embedded' };

/** What cpuLine says in Mosquitto's column when the broker is the embedded one, which has no CPU figure of its own. */
let brokerColumn: string | undefined;
/** The broker the gateway and the direct clients reach: Mosquitto, or aedes in its own process (`--broker=aedes`). */
let brokerLabel = 'mosquitto';

/**
 * The shipped gateway.yaml as `npm start` runs it, in this process: no broker URL, so the embedded broker
 * (on a free loopback port) and the in-memory connection to it. Only what would collide moves: ports
 * (UDP, embedded broker, HTTP) to free ones and stateDir to a fresh directory.
 */
async function startShippedGateway(maxClients?: number): Promise<{ gateway: Gateway; target: Target }> {
  const config = loadConfig('gateway.yaml');
  // crowd100k only: the shipped limit (10,000) would refuse most of the crowd.
  if (maxClients !== undefined) config.gateway.maxClients = maxClients;
  if (config.broker.url !== undefined) throw new Error('gateway.yaml names a broker URL: --broker=embedded measures the shipped config, which has none');
  (config.radios[0] as UdpRadioConfig).port = 0;
  config.broker.embedded.port = 0;
  if (config.http) config.http.port = 0;
  config.stateDir = mkdtempSync(join(os.tmpdir(), 'bench-gw-shipped-'));
  // Warnings and errors shown, so a crowd the shipped config refuses (a limit, a full queue) says why.
  const logger = { log: (level: string, message: string) => { if (level === 'warn' || level === 'error') console.log(`gateway ${level}: ${message}`); } };
  const gateway = await Gateway.start(config, { logger });
  if (!(await waitUntil(() => gateway.upstream.connected, 10_000))) throw new Error('gateway did not connect to its embedded broker');
  applyWhatIfs(gateway, whatIfs);
  return { gateway, target: { gatewayPort: (gateway.radios[0] as UdpRadio).port, brokerUrl: gateway.brokerUrl } };
}

/** persistence: a fresh stateDir and a fresh broker session, so no run inherits another's. */
async function startGateway(brokerUrl: string, persistence = false, mode: 'aggregating' | 'transparent' = 'aggregating', maxClients = 20_000): Promise<{ gateway: Gateway; target: Target }> {
  const config = parseConfig(gatewayYaml(brokerUrl, mode, maxClients), 'bench-gateway.yaml');
  (config.radios[0] as UdpRadioConfig).port = 0; // a free port, as the end-to-end tests do
  config.broker.clientId = `bench-gw-${process.pid}-${++runs}`;
  if (persistence) {
    config.persistence = true;
    config.stateDir = mkdtempSync(join(os.tmpdir(), 'bench-gw-state-'));
  }
  const gateway = await Gateway.start(config);
  if (!(await waitUntil(() => gateway.upstream.connected, 10_000))) throw new Error('gateway did not connect to Mosquitto');
  const gatewayPort = (gateway.radios[0] as UdpRadio).port;
  applyWhatIfs(gateway, whatIfs);
  return { gateway, target: { gatewayPort, brokerUrl } };
}

// ─────────────────────────────── output ───────────────────────────────

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const ms = (n: number): string => (n < 10 ? n.toFixed(2) : n.toFixed(1));
const pct = (n: number | undefined): string => (n === undefined ? '?' : `${Math.round(n)}%`);
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function line(name: string, text: string): void {
  console.log(`${name.padEnd(7)} ${text}`);
}

/**
 * CPU as percent of one core. `busySeconds` is the part of the window where work was flowing (the
 * fan-out window ends with a quiet second that proves the stream drained).
 */
function cpuLine(figures: WindowFigures, loadCpuMs: number | undefined, busySeconds = figures.seconds, messages?: number): void {
  const share = (cpuMs: number | undefined): string => pct(cpuMs === undefined ? undefined : (100 * cpuMs) / (busySeconds * 1000));
  // CPU per message holds up better than msg/s on a machine shared with other work.
  const perMessage = (cpuMs: number | undefined): string => (cpuMs === undefined || !messages ? '' : ` (${((1000 * cpuMs) / messages).toFixed(1)} µs/msg)`);
  line('', `cpu over ${busySeconds.toFixed(1)} s: gateway ${share(figures.gatewayCpuMs)}${perMessage(figures.gatewayCpuMs)}, load generator ${share(loadCpuMs)}${perMessage(loadCpuMs)}, ` +
    `${brokerColumn ?? `${brokerLabel} ${share(figures.brokerCpuMs)}${perMessage(figures.brokerCpuMs)}`}; UDP datagrams dropped for a full receive buffer: ${figures.udpDrops ?? '?'}`);
}

/** `--profile[=dir]`: profile each measuring window (bench/lib/window-profiler.ts); the directory keeps the .cpuprofile files. */
let profiling: { dir: string | undefined } | undefined;
let windows = 0;
/** `--alloc-profile`: the sampling heap profiler over each measuring window (bench/lib/allocation-profiler.ts). */
let allocationProfiling: 'all' | 'retained' | undefined;

/**
 * Samples this machine's counters when the load generator opens and closes its window (and, with
 * --profile, profiles the gateway's process over it).
 */
class WindowWatch {
  private start: Counters | undefined;
  private readonly profiler = profiling && new WindowProfiler(profiling.dir);
  private profileLines: Promise<string[]> | undefined;
  private readonly heap = new HeapWindow();
  private readonly allocations = allocationProfiling && new AllocationProfiler(allocationProfiling === 'retained');
  figures: WindowFigures | undefined;
  /** Bytes allocated and collections in the gateway's process over the window. */
  heapFigures: HeapFigures | undefined;
  constructor(private readonly brokerPid: number | undefined, private readonly name = 'window') {}

  readonly onWindow = (phase: 'start' | 'end'): void => {
    if (phase === 'start') {
      this.profiler?.start();
      this.allocations?.start();
      this.heap.start();
      this.start = sample(this.brokerPid);
    } else {
      this.figures = between(this.start!, sample(this.brokerPid));
      this.heapFigures = this.heap.stop();
      this.allocations?.stop();
      this.profileLines = this.profiler?.stop(`${String(++windows).padStart(2, '0')}-${this.name}`);
    }
  };

  /** Prints the window's profile summary, when profiling; allocations per message when `messages` is given. */
  async printProfile(messages?: number): Promise<void> {
    for (const l of (await this.profileLines) ?? []) line('', l);
    if (this.allocations && messages) for (const l of await this.allocations!.summary(messages)) line('', l);
  }
}

// ─────────────────────────────── scenarios ───────────────────────────────

/** Memory after a full GC, and again after V8 has had a moment to give back what it no longer needs. */
async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  gc();
  await sleep(500);
  gc();
  return process.memoryUsage();
}

/**
 * Connects the sensors in two halves and reads the memory before, between and after. The second half's
 * growth is the marginal cost per sensor: one-time growth (V8's young generation, Map tables) falls in
 * the first half, which is why RSS from zero is noisier than heap.
 */
async function memory(load: LoadGenerator, brokerUrl: string): Promise<void> {
  for (const forwarders of [0, MEMORY.forwarders]) {
    const { gateway, target } = await startGateway(brokerUrl);
    const half = MEMORY.sensors / 2;
    const before = await settledMemory();
    const first = await load.run<ConnectManyResult>({ kind: 'connectMany', target, sensors: half, forwarders: forwarders / 2 });
    const middle = await settledMemory();
    const second = await load.run<ConnectManyResult>({ kind: 'connectMany', target, sensors: half, forwarders: forwarders / 2 });
    await waitUntil(() => gateway.core.connectedCount >= MEMORY.sensors, 5000);
    const after = await settledMemory();
    const n = gateway.core.connectedCount;
    const how = forwarders === 0 ? 'one UDP socket each' : `behind ${forwarders} forwarders, §5.5`;
    const perSensor = (from: NodeJS.MemoryUsage, to: NodeJS.MemoryUsage, key: 'rss' | 'heapUsed', count: number) => int((to[key] - from[key]) / count);
    line('memory', `${int(n)} sensors connected (${how}): heap ${perSensor(before, after, 'heapUsed', n)} B/sensor, ` +
      `RSS ${perSensor(before, after, 'rss', n)} B/sensor; marginal (${int(half)} → ${int(n)}): heap ${perSensor(middle, after, 'heapUsed', n - half)} B/sensor, ` +
      `RSS ${perSensor(middle, after, 'rss', n - half)} B/sensor [RSS ${mb(before.rss)} → ${mb(middle.rss)} → ${mb(after.rss)}; ` +
      `CONNECTs took ${(first.seconds + second.seconds).toFixed(1)} s, ${int(first.resent + second.resent)} resent]`);
    await load.run({ kind: 'releaseMany' });
    await gateway.stop();
  }
}

/**
 * `alloc`: bytes of heap the gateway allocates per QoS 1 message on its whole path, exactly (the harness that
 * test/e2e/02-publish-allocation.test.ts uses, there with the sensors sending in bursts): 50 sensors in a worker thread of this process (their heap
 * is their own), closed loop, 5,000 messages to warm up, then rounds of 20,000. With --alloc-profile, where
 * the bytes come from.
 */
async function allocation(brokerUrl: string): Promise<void> {
  const { gateway, target } = await startGateway(brokerUrl);
  const sensors = await qos1Sensors(target.gatewayPort, SENSORS, 'alloc', 'bench/alloc');
  await sensors.measure(ALLOC.warmup);
  for (let round = 0; round < ALLOC.rounds; round++) {
    const profiler = allocationProfiling && new AllocationProfiler(allocationProfiling === 'retained');
    profiler?.start();
    const cpu = process.cpuUsage();
    const run = await sensors.measure(ALLOC.messages);
    const used = process.cpuUsage(cpu);
    profiler?.stop();
    line('alloc', `${int(run.messages)} QoS 1 messages, ${SENSORS} sensors in a worker thread: ${formatHeapFigures(run, run.messages)}; ` +
      `this process (gateway and sensors) ${((used.user + used.system) / run.messages).toFixed(1)} µs CPU/msg`);
    for (const l of (await profiler?.summary(run.messages)) ?? []) line('', l);
  }
  await sensors.close();
  await gateway.stop();
}

function percentilesText(p: Percentiles): string {
  return `p50 ${ms(p.p50)} ms, p99 ${ms(p.p99)} ms, p99.9 ${ms(p.p999)} ms, max ${ms(p.max)} ms`;
}

function qos1Line(r: Qos1Result): string {
  return `${int(r.acked / r.seconds)} msg/s acknowledged, ${int(r.delivered / r.seconds)} msg/s delivered; ` +
    `PUBACK latency ${percentilesText(r.latencyMs)}`;
}

/** broker 'embedded': the shipped config (its own aedes, reached in memory), and no `direct` to compare with. */
async function qos1(load: LoadGenerator, broker: CrowdBroker): Promise<void> {
  const brokerPid = broker.kind === 'mosquitto' ? broker.pid : undefined;
  for (const rate of [...(pacedOnly ? [] : [undefined]), ...QOS1.pacedRates]) {
    const { gateway, target } = broker.kind === 'embedded' ? await startShippedGateway() : await startGateway(broker.url);
    const watch = new WindowWatch(brokerPid, rate === undefined ? 'qos1' : `qos1-paced-${rate}`);
    const residence = new ResidenceProbe(gateway);
    const sensors = rate === undefined ? SENSORS : QOS1.pacedSensors;
    const onWindow = (phase: 'start' | 'end'): void => {
      residence.onWindow(phase);
      watch.onWindow(phase);
    };
    const r = await load.run<Qos1Result>({ kind: 'qos1', target, sensors, warmupMs: QOS1.warmupMs, durationMs: QOS1.durationMs, rate }, onWindow);
    const how = rate === undefined ? '1 in flight each' : `paced at ${int(rate)} msg/s in total, 1 in flight each`;
    line('qos1', `${sensors} sensors, ${how}, ${r.seconds.toFixed(1)} s: ${qos1Line(r)}` +
      ` [whole run: ${int(r.ackedTotal)} acked, ${int(r.deliveredTotal)} delivered, ${r.rejected} rejected, ${r.stalled} stalled` +
      `${rate === undefined ? '' : `, ${int(r.skipped)} skipped (no sensor free or a late pacer)`}; gateway congestion ${gateway.core.stats.congestion}; ` +
      `PINGREQs for a prompt TCP acknowledgement ${int((gateway.upstream as MqttUpstream).promptAck.sent)}]`);
    const inGateway = residence.figures();
    line('', `in the gateway, frame read → PUBACK sent (the broker's round trip included; not the wait in the socket before the read): ` +
      `${percentilesText(inGateway)} [${int(inGateway.samples)} messages]`);
    line('', `sensor's send → the gateway's read (the kernel's hand-over, the wait in the gateway's socket): ${percentilesText(inGateway.beforeRead)}; ` +
      `sensor's send → PUBACK handed to the kernel: ${percentilesText(inGateway.toPuback)} (the sensors' round trip beyond this is the PUBACK waiting for their own process)`);
    if (r.deliveryMs) line('', `sensor's send → the MQTT subscriber's receipt: ${percentilesText(r.deliveryMs)}`);
    cpuLine(watch.figures!, r.cpuMs, undefined, r.acked);
    line('', formatHeapFigures(watch.heapFigures!, r.acked));
    await watch.printProfile(r.acked);
    await gateway.stop();
    if (rate === undefined && broker.kind === 'mosquitto') await direct(load, target.brokerUrl, brokerPid, r);
  }
}

/** The same closed loop without the gateway: plain MQTT clients straight to Mosquitto, and the ratio. */
async function direct(load: LoadGenerator, brokerUrl: string, brokerPid: number | undefined, viaGateway: Qos1Result): Promise<void> {
  const watch = new WindowWatch(brokerPid);
  const r = await load.run<Qos1Result>({ kind: 'direct', target: { brokerUrl, gatewayPort: 0 }, clients: SENSORS, warmupMs: QOS1.warmupMs, durationMs: QOS1.durationMs }, watch.onWindow);
  line('direct', `${SENSORS} MQTT clients straight to ${brokerLabel}, QoS 1, 1 in flight each, ${r.seconds.toFixed(1)} s: ${qos1Line(r)}`);
  cpuLine(watch.figures!, r.cpuMs, undefined, r.acked);
  await watch.printProfile();
  const ratio = (viaGateway.acked / viaGateway.seconds) / (r.acked / r.seconds);
  line('direct', `gateway / direct: ${ratio.toFixed(2)}× (target ≥ 1.0×)`);
}

/**
 * `ratio`: gateway / direct on a machine shared with other work. qos1 runs one 10 s window of each, one
 * after the other, and whatever else runs on the machine then favours one side (its direct figure has
 * read anywhere from 17,900 to 30,900 msg/s in minutes). Here short windows of the two alternate, the
 * order swapped each round, and the median of the rounds' ratios is the figure. Beside it, each side's
 * CPU per message summed over its processes (sensors + gateway + Mosquitto against clients + Mosquitto):
 * what the two cores must pay per message, which steadies where msg/s does not.
 */
async function ratio(load: LoadGenerator, brokerUrl: string, brokerPid: number | undefined): Promise<void> {
  const ratios: number[] = [];
  const pathCpu = { gateway: [] as number[], direct: [] as number[] };
  const perMessage = (cpuMs: number | undefined, r: Qos1Result): number => (1000 * (cpuMs ?? 0)) / r.acked;
  const viaGateway = async (): Promise<[Qos1Result, WindowFigures]> => {
    const { gateway, target } = await startGateway(brokerUrl);
    const watch = new WindowWatch(brokerPid);
    const r = await load.run<Qos1Result>({ kind: 'qos1', target, sensors: SENSORS, warmupMs: RATIO.warmupMs, durationMs: RATIO.durationMs }, watch.onWindow);
    await gateway.stop();
    return [r, watch.figures!];
  };
  const straight = async (): Promise<[Qos1Result, WindowFigures]> => {
    const watch = new WindowWatch(brokerPid);
    const r = await load.run<Qos1Result>({ kind: 'direct', target: { brokerUrl, gatewayPort: 0 }, clients: SENSORS, warmupMs: RATIO.warmupMs, durationMs: RATIO.durationMs }, watch.onWindow);
    return [r, watch.figures!];
  };
  for (let round = 1; round <= RATIO.rounds; round++) {
    const loadAverage = os.loadavg()[0];
    const gatewayFirst = round % 2 === 1;
    const early = await (gatewayFirst ? viaGateway() : straight());
    const late = await (gatewayFirst ? straight() : viaGateway());
    const [[g, gf], [d, df]] = gatewayFirst ? [early, late] : [late, early];
    const sensorsUs = perMessage(g.cpuMs, g);
    const gatewayUs = perMessage(gf.gatewayCpuMs, g);
    const brokerUs = perMessage(gf.brokerCpuMs, g);
    const clientsUs = perMessage(d.cpuMs, d);
    const directBrokerUs = perMessage(df.brokerCpuMs, d);
    const r = (g.acked / g.seconds) / (d.acked / d.seconds);
    ratios.push(r);
    pathCpu.gateway.push(sensorsUs + gatewayUs + brokerUs);
    pathCpu.direct.push(clientsUs + directBrokerUs);
    line('ratio', `round ${round} (${gatewayFirst ? 'gateway first' : 'direct first'}, load average ${loadAverage.toFixed(1)}): ` +
      `gateway ${int(g.acked / g.seconds)} msg/s, p99 ${ms(g.latencyMs.p99)} ms, CPU µs/msg sensors ${sensorsUs.toFixed(1)} + gateway ${gatewayUs.toFixed(1)} + ${brokerLabel} ${brokerUs.toFixed(1)}` +
      ` = ${(sensorsUs + gatewayUs + brokerUs).toFixed(1)}; direct ${int(d.acked / d.seconds)} msg/s, p99 ${ms(d.latencyMs.p99)} ms, clients ${clientsUs.toFixed(1)} + ${brokerLabel} ${directBrokerUs.toFixed(1)}` +
      ` = ${(clientsUs + directBrokerUs).toFixed(1)}: ${r.toFixed(2)}×`);
  }
  const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
  const middle = (xs: number[]): number => {
    const ys = sorted(xs);
    const half = ys.length >> 1;
    return ys.length % 2 === 1 ? ys[half] : (ys[half - 1] + ys[half]) / 2;
  };
  line('ratio', `gateway / direct, ${RATIO.rounds} alternated rounds of ${RATIO.durationMs / 1000} s: median ${middle(ratios).toFixed(2)}× (target ≥ 1.0×) ` +
    `[${sorted(ratios).map((x) => x.toFixed(2)).join(', ')}]; CPU per message summed over each side's processes, median: ` +
    `gateway path ${middle(pathCpu.gateway).toFixed(1)} µs, direct ${middle(pathCpu.direct).toFixed(1)} µs`);
}

async function qos0(load: LoadGenerator, brokerUrl: string, brokerPid: number | undefined): Promise<void> {
  for (const rate of QOS0.rates) {
    const { gateway, target } = await startGateway(brokerUrl);
    const watch = new WindowWatch(brokerPid, `qos0-${rate}`);
    const r = await load.run<Qos0Result>({ kind: 'qos0', target, sensors: SENSORS, rate, durationMs: QOS0.durationMs }, watch.onWindow);
    const received = gateway.core.stats.publishedToBroker;
    line('qos0', `${SENSORS} sensors paced at ${int(rate)} msg/s for ${r.seconds.toFixed(1)} s: sent ${int(r.sent)} (${int(r.sent / r.seconds)} msg/s), ` +
      `delivered ${int(r.delivered)} = ${(100 * r.delivered / r.sent).toFixed(2)}% [gateway published ${int(received)} to the broker; ${int(r.skipped)} skipped by a late pacer]`);
    cpuLine(watch.figures!, r.cpuMs);
    await watch.printProfile();
    await gateway.stop();
  }
}

const BURST = { sensors: [2, 10], rounds: 300, alternations: 2 };

/** Sensors publishing in the same instant, as shipped and without the prompt TCP acknowledgement, alternated. */
async function burst(load: LoadGenerator, brokerUrl: string): Promise<void> {
  for (const sensors of BURST.sensors) {
    for (let round = 0; round < BURST.alternations; round++) {
      for (const prompt of [true, false]) {
        const { gateway, target } = await startGateway(brokerUrl);
        if (!prompt) WHAT_IFS['no-prompt-ack'](gateway);
        const r = await load.run<BurstResult>({ kind: 'burst', target, sensors, rounds: BURST.rounds });
        const l = r.latencyMs;
        line('burst', `${sensors} sensors publishing QoS 1 in the same instant, ${BURST.rounds} rounds${prompt ? '' : ', WITHOUT the prompt acknowledgement'}: ` +
          `PUBACK p50 ${ms(l.p50)} ms, p90 ${ms(l.p90)} ms, p99 ${ms(l.p99)} ms, max ${ms(l.max)} ms [${int(r.acked)} acknowledged, ${r.stalled} stalled; ` +
          `PINGREQs written to carry the gateway's TCP acknowledgement: ${int((gateway.upstream as MqttUpstream).promptAck.sent)}]`);
        await gateway.stop();
      }
    }
  }
}

async function fanout(load: LoadGenerator, broker: CrowdBroker): Promise<void> {
  const brokerPid = broker.kind === 'mosquitto' ? broker.pid : undefined;
  if (broker.kind === 'embedded') line('fanout', 'shipped gateway.yaml, embedded broker (aedes) in this process, the MQTT publisher in the load generator over TCP; aedes\'s CPU is in the gateway\'s figure');
  const runs: { sensors: number; messages: number; qos: 0 | 1; filter?: string }[] = [
    { sensors: SENSORS, messages: FANOUT.messages, qos: 0 },
    ...([0, 1] as const).flatMap((qos) => FANOUT.wideMessages.map((messages) => ({ sensors: FANOUT.wideSensors, messages, qos, filter: 'bench/fanout/#' }))),
  ];
  for (const run of runs) {
    const { gateway, target } = broker.kind === 'embedded' ? await startShippedGateway() : await startGateway(broker.url);
    const watch = new WindowWatch(brokerPid);
    const r = await load.run<FanoutResult>({ kind: 'fanout', target, ...run }, watch.onWindow);
    const on = run.filter ? `a wildcard subscription (${run.filter})` : 'one topic';
    line('fanout', `${int(r.published)} broker message(s) × ${int(run.sensors)} sensors on ${on} at QoS ${run.qos}: ${int(r.delivered / r.seconds)} deliveries/s, ` +
      `${int(r.delivered)} of ${int(r.expected)} delivered (${(100 * r.delivered / r.expected).toFixed(2)}%) in ${(r.seconds * 1000).toFixed(0)} ms` +
      `${run.qos === 1 ? `, ${int(r.duplicates)} resent (DUP)` : ''}`);
    cpuLine(watch.figures!, r.cpuMs, r.seconds);
    await watch.printProfile();
    await gateway.stop();
  }
}

/** V8's young generation (new space), committed: it grows under allocation bursts and stays, whatever the sensor count. */
function youngGeneration(): number {
  return v8.getHeapSpaceStatistics().filter((sp) => sp.space_name === 'new_space' || sp.space_name === 'new_large_object_space')
    .reduce((n, sp) => n + sp.space_size, 0);
}

/**
 * Short-lived garbage, enough to pass through all of V8's young generation: its pages are reserved at
 * start-up but count in RSS only once touched, which the first burst of traffic does whatever the number
 * of sensors. Touched before the "from zero" reading, that one-time cost is not spread over the sensors.
 */
function touchYoungGeneration(): void {
  // Stored, so that the optimiser cannot prove the objects unused and leave them unallocated.
  const ring: unknown[] = new Array(1024);
  for (let i = 0; i < 4_000_000; i++) ring[i & 1023] = { i };
}

/**
 * Connects a crowd with one REGISTERed topic and one subscription per sensor, in two halves, and prints
 * heap and RSS per sensor after a full GC: from zero, and marginal (the second half). The first half
 * also pays one-time growth (V8's young generation, the tables of the big Maps), which is why RSS from
 * zero is noisier than heap and than the marginal figure.
 */
async function crowdMemory(load: LoadGenerator, gateway: Gateway, target: Target, sensors: number, forwarders: number): Promise<void> {
  const half = sensors / 2;
  touchYoungGeneration();
  const before = await settledMemory();
  const youngBefore = youngGeneration();
  const c1 = await load.run<ConnectManyResult>({ kind: 'connectMany', target, sensors: half, forwarders: forwarders / 2 });
  await load.run<CrowdResult>({ kind: 'crowdTopics', subscribe: true });
  const middle = await settledMemory();
  const c2 = await load.run<ConnectManyResult>({ kind: 'connectMany', target, sensors: half, forwarders: forwarders / 2 });
  const t = await load.run<CrowdResult>({ kind: 'crowdTopics', subscribe: true });
  await waitUntil(() => gateway.core.connectedCount >= sensors, 10_000);
  const after = await settledMemory();
  const youngAfter = youngGeneration();
  const n = gateway.core.connectedCount;
  const per = (from: NodeJS.MemoryUsage, to: NodeJS.MemoryUsage, key: 'rss' | 'heapUsed', count: number) => int((to[key] - from[key]) / count);
  const how = forwarders === 0 ? 'one UDP socket each' : `behind ${forwarders} forwarders, §5.5`;
  // V8 may double its young generation (16 → 32 MB) under the connect burst, whatever the number of sensors:
  // RSS from zero is also given without that growth.
  line('crowd', `${int(n)} sensors connected (${how}), one REGISTERed topic and one subscription each: ` +
    `heap ${per(before, after, 'heapUsed', n)} B/sensor, RSS ${per(before, after, 'rss', n)} B/sensor from zero ` +
    `(${int((after.rss - before.rss - (youngAfter - youngBefore)) / n)} without the young generation's growth); ` +
    `marginal (${int(half)} → ${int(n)}): heap ${per(middle, after, 'heapUsed', n - half)} B/sensor, RSS ${per(middle, after, 'rss', n - half)} B/sensor (target ≤ 1,536 RSS) ` +
    `[RSS ${mb(before.rss)} → ${mb(middle.rss)} → ${mb(after.rss)}; V8 heap committed ${mb(before.heapTotal)} → ${mb(middle.heapTotal)} → ${mb(after.heapTotal)}, ` +
    `young generation ${mb(youngBefore)} → ${mb(youngAfter)}, outside V8's heap (external) ${mb(before.external)} → ${mb(middle.external)} → ${mb(after.external)}; ` +
    `${int(gateway.core.subscriptions.size)} broker filters; CONNECTs ${(c1.seconds + c2.seconds).toFixed(1)} s, ${int(c1.resent + c2.resent + t.resent)} resent, ${c1.refused + c2.refused + t.refused} refused]`);
}

/**
 * 10,000 sensors with one topic and one subscription each: memory per sensor, then CPU idle and at 1,000 msg/s.
 * Against the embedded broker the busy phase runs again with one MQTT subscriber on the wildcard.
 */
async function crowd(load: LoadGenerator, broker: CrowdBroker): Promise<void> {
  const brokerPid = broker.kind === 'mosquitto' ? broker.pid : undefined;
  const { gateway, target } = broker.kind === 'mosquitto' ? await startGateway(broker.url) : await startShippedGateway();
  if (broker.kind === 'embedded') line('crowd', `shipped gateway.yaml, embedded broker (aedes) on ${gateway.brokerUrl}, reached in memory; its CPU is in the gateway's figure`);
  try {
    await crowdPhases(load, gateway, target, broker, brokerPid);
  } finally {
    await gateway.stop(); // also when a phase fails, so that the process can end
  }
}

async function crowdPhases(load: LoadGenerator, gateway: Gateway, target: Target, broker: CrowdBroker, brokerPid: number | undefined): Promise<void> {
  await crowdMemory(load, gateway, target, CROWD.sensors, 0);
  const n = gateway.core.connectedCount;
  const phases: { rate: number; subscriber?: string; warmup?: true }[] = [{ rate: 0 }, { rate: CROWD.rate, warmup: true }, { rate: CROWD.rate }];
  if (broker.kind === 'embedded') phases.push({ rate: CROWD.rate, subscriber: 'crowd/#' });
  let busyUsPerMessage = 0;
  for (const { rate, subscriber, warmup } of phases) {
    const watch = new WindowWatch(brokerPid, warmup ? 'crowd-warmup' : rate ? 'crowd-busy' : 'crowd-idle');
    const published = gateway.core.stats.publishedToBroker;
    const inProcess = embeddedInProcess(gateway);
    const framesIn = gateway.core.stats.framesIn;
    const r = await load.run<CrowdResult>({
      kind: 'crowdPublish', rate, durationMs: warmup ? CROWD.warmupMs : rate ? CROWD.busyMs : CROWD.idleMs,
      subscriber: subscriber === undefined ? undefined : { brokerUrl: target.brokerUrl, filter: subscriber },
    }, watch.onWindow);
    const f = watch.figures!;
    const share = (100 * f.gatewayCpuMs) / (f.seconds * 1000);
    if (warmup) {
      line('crowd', `warming up: the first ${int(rate)} msg/s after the idle phase, ${f.seconds.toFixed(1)} s: gateway CPU ${share.toFixed(2)}% of a core, ` +
        `${((1000 * f.gatewayCpuMs) / (gateway.core.stats.framesIn - framesIn)).toFixed(1)} µs/msg (not the figure: V8 is still compiling the path)`);
      continue;
    }
    let what = rate ? `${int(rate)} QoS 0 msg/s spread over them (${int(gateway.core.stats.publishedToBroker - published)} published to the broker)` : 'all idle';
    if (broker.kind === 'embedded' && rate) {
      what += subscriber === undefined ? ', no MQTT subscriber at the broker' : `, one MQTT subscriber on ${subscriber} over TCP (${int(r.delivered ?? 0)} received)`;
      what += `, ${int(embeddedInProcess(gateway) - inProcess)} handed to aedes in process`;
    }
    line('crowd', `${int(n)} sensors, ${what}, ${f.seconds.toFixed(1)} s: gateway CPU ${share.toFixed(2)}% of a core (target < ${rate ? 5 : 1}%)`);
    cpuLine(f, r.cpuMs, undefined, rate ? gateway.core.stats.framesIn - framesIn : undefined);
    if (rate) line('', formatHeapFigures(watch.heapFigures!, gateway.core.stats.framesIn - framesIn));
    await watch.printProfile(rate ? gateway.core.stats.framesIn - framesIn : undefined);
    if (rate && subscriber === undefined) busyUsPerMessage = (1000 * f.gatewayCpuMs) / (gateway.core.stats.framesIn - framesIn);
  }
  await crowdFloor(load, brokerPid, busyUsPerMessage);
  if (abWhatIf) await crowdAb(load, gateway, brokerPid, abWhatIf);
  await load.run({ kind: 'releaseMany' });
}

/** QoS 0 messages the gateway handed to its embedded broker in process so far (0 against Mosquitto). */
function embeddedInProcess(gateway: Gateway): number {
  return gateway.embeddedBroker?.publishedInProcess ?? 0;
}

/**
 * The floor under the crowd's busy figure: the same paced stream from the same 10,000 sockets sent to a
 * bare UDP socket in this process that only counts datagrams. What Node costs to be woken for and read
 * one datagram at a time, before any gateway work.
 */
async function crowdFloor(load: LoadGenerator, brokerPid: number | undefined, gatewayUsPerMessage: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  let received = 0;
  socket.on('message', () => { received++; });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const watch = new WindowWatch(brokerPid, 'crowd-floor');
  await load.run<CrowdResult>({ kind: 'crowdPublish', rate: CROWD.rate, durationMs: CROWD.busyMs, port: socket.address().port }, watch.onWindow);
  const f = watch.figures!;
  line('crowd', `floor: the same ${int(CROWD.rate)} msg/s to a bare Node UDP socket in the gateway's process (counts them, nothing else): ` +
    `${((100 * f.gatewayCpuMs) / (f.seconds * 1000)).toFixed(2)}% of a core, ${((1000 * f.gatewayCpuMs) / received).toFixed(1)} µs/msg (user space ${((1000 * f.gatewayUserMs) / received).toFixed(1)}) [${int(received)} datagrams]; ` +
    `the gateway's own work above it: ${(gatewayUsPerMessage - (1000 * f.gatewayCpuMs) / received).toFixed(1)} µs/msg`);
  line('', formatHeapFigures(watch.heapFigures!, received));
  await watch.printProfile(received);
  await new Promise<void>((resolve) => socket.close(() => resolve()));
}

/**
 * `--ab=<what-if>`: the crowd's busy phase again in alternating windows, as shipped and with the what-if,
 * on the same gateway and sensors, so that load from elsewhere falls on both alike.
 */
async function crowdAb(load: LoadGenerator, gateway: Gateway, brokerPid: number | undefined, whatIf: WhatIf): Promise<void> {
  const figures: Record<string, number[]> = { shipped: [], [whatIf]: [] };
  /** The user-space part (our JavaScript, V8, libuv), less disturbed by other processes' system calls. */
  const user: Record<string, number[]> = { shipped: [], [whatIf]: [] };
  for (let round = 0; round < CROWD.abRounds; round++) {
    for (const variant of ['shipped', whatIf] as const) {
      if (variant === 'shipped') undoWhatIfs(gateway);
      else WHAT_IFS[whatIf](gateway);
      const watch = new WindowWatch(brokerPid);
      const framesIn = gateway.core.stats.framesIn;
      await load.run<CrowdResult>({ kind: 'crowdPublish', rate: CROWD.rate, durationMs: CROWD.abWindowMs }, watch.onWindow);
      const frames = gateway.core.stats.framesIn - framesIn;
      figures[variant].push((1000 * watch.figures!.gatewayCpuMs) / frames);
      user[variant].push((1000 * watch.figures!.gatewayUserMs) / frames);
    }
  }
  undoWhatIfs(gateway);
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const [variant, us] of Object.entries(figures)) {
    line('crowd', `A/B ${variant}: ${int(CROWD.rate)} msg/s over ${int(CROWD.sensors)} sensors: gateway ${median(us).toFixed(1)} µs/msg median = ${(median(us) * CROWD.rate / 1e4).toFixed(2)}% of a core ` +
      `[windows: ${us.map((u) => u.toFixed(0)).join(', ')} µs/msg]; user space ${median(user[variant]).toFixed(1)} µs/msg median [${user[variant].map((u) => u.toFixed(0)).join(', ')}]`);
  }
}

/**
 * 100,000 sensors behind 1,000 forwarders (§5.5), each with one REGISTERed topic and one subscription:
 * heap and RSS per sensor after a full GC (issue 13's per-sensor target at the larger scale).
 */
async function crowd100k(load: LoadGenerator, broker: CrowdBroker): Promise<void> {
  const maxClients = CROWD_100K.sensors + 1000;
  if (broker.kind === 'embedded') line('crowd100k', `shipped gateway.yaml, embedded broker (aedes) in this process, gateway.maxClients raised from ${int(loadConfig('gateway.yaml').gateway.maxClients)} to ${int(maxClients)}`);
  const { gateway, target } = broker.kind === 'mosquitto' ? await startGateway(broker.url, false, 'aggregating', maxClients) : await startShippedGateway(maxClients);
  await crowdMemory(load, gateway, target, CROWD_100K.sensors, CROWD_100K.forwarders);
  await load.run({ kind: 'releaseMany' });
  await gateway.stop();
}

/**
 * Where the crowd's bytes go: heap snapshots of this process before and after 10,000 sensors (one UDP
 * socket each) CONNECT, REGISTER one topic and SUBSCRIBE one filter, counted by what each object is and
 * what holds it (bench/lib/heap-census.ts). A run of its own: the snapshots would disturb other figures.
 */
async function census(load: LoadGenerator, broker: CrowdBroker): Promise<void> {
  const { gateway, target } = broker.kind === 'mosquitto' ? await startGateway(broker.url) : await startShippedGateway();
  if (broker.kind === 'embedded') line('census', `shipped gateway.yaml, embedded broker (aedes) in this process: its objects are counted with the gateway's`);
  await settledMemory();
  const before = await takeCensus();
  await settledMemory();
  await load.run<ConnectManyResult>({ kind: 'connectMany', target, sensors: CENSUS.sensors, forwarders: 0 });
  await load.run<CrowdResult>({ kind: 'crowdTopics', subscribe: true });
  await settledMemory();
  const after = await takeCensus();
  const n = gateway.core.connectedCount;
  const g = growth(before, after, n, CENSUS.top);
  before.discard();
  after.discard();
  line('census', `${int(n)} sensors, one topic and one subscription each: heap snapshot grew ${int(g.totalPer)} B/sensor; the ${CENSUS.top} largest changes ` +
    '(bytes and objects per sensor, what ← held by; held by the first retainer the snapshot lists):');
  for (const l of g.lines) line('', `${l.bytesPer.toFixed(0).padStart(6)} B ${l.countPer.toFixed(2).padStart(6)}  ${l.label}`);
  await load.run({ kind: 'releaseMany' });
  await gateway.stop();
}

/** As many sensors as the load generator holds here, CONNECTing and REGISTERing at once behind forwarders. */
async function storm(load: LoadGenerator, brokerUrl: string, brokerPid: number | undefined): Promise<void> {
  const { gateway, target } = await startGateway(brokerUrl, false, 'aggregating', STORM.sensors + 1000);
  const before = await settledMemory();
  const watch = new WindowWatch(brokerPid);
  watch.onWindow('start');
  const r = await load.run<ConnectManyResult>({ kind: 'connectMany', target, sensors: STORM.sensors, forwarders: STORM.forwarders, register: true });
  watch.onWindow('end');
  await waitUntil(() => gateway.core.connectedCount >= STORM.sensors, 10_000);
  const after = await settledMemory();
  const n = gateway.core.connectedCount;
  line('storm', `${int(n)} sensors behind ${STORM.forwarders} forwarders CONNECTed and REGISTERed one topic in ${r.seconds.toFixed(1)} s (target < 20 s): ` +
    `${r.refused} refused, ${int(r.resent)} resent (targets 0, 0); RSS ${int((after.rss - before.rss) / n)} B/sensor, heap ${int((after.heapUsed - before.heapUsed) / n)} B/sensor ` +
    `[RSS ${mb(before.rss)} → ${mb(after.rss)}]`);
  cpuLine(watch.figures!, undefined);
  await watch.printProfile();
  await load.run({ kind: 'releaseMany' });
  await gateway.stop();
}

function timers(): void {
  for (const sessions of [10_000, 100_000]) {
    const t = measureTick(sessions);
    line('timers', `${int(sessions)} idle sessions: ${t.heapUs.toFixed(1)} µs per tick with the deadline heap (${t.examinedPerTick} sessions examined per tick); ` +
      `a pass over every session, as the replaced sweep did: ${int(t.everySessionUs)} µs per tick`);
  }
}

async function upstreamPath(brokerUrl: string): Promise<void> {
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const f of await measureUpstreamPath(brokerUrl)) {
    line('upstream', `QoS ${f.qos}, ${f.variant}: ${Math.min(...f.usPerMessage).toFixed(1)} µs/msg min, ${median(f.usPerMessage).toFixed(1)} median ` +
      `(${f.usPerMessage.length} rounds alternating with the other path; ${int(median(f.messagesPerSecond))} msg/s median)`);
  }
}

async function footprint(): Promise<void> {
  const f = await measureFootprint();
  const range = (values: number[], format: (n: number) => string) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[0] === sorted[sorted.length - 1] ? format(sorted[0]) : `${format(sorted[0])}–${format(sorted[sorted.length - 1])}`;
  };
  const mbs = (n: number) => (n / 1024 / 1024).toFixed(1);
  line('idle', `shipped gateway.yaml (UDP + embedded broker + persistence + HTTP), \`node bin/mqtt-sn-gateway.js\`, ${f.servingMs.length} starts: ` +
    `RSS ${range(f.idleRssBytes, mbs)} MB idle after start-up (target ≤ 60 MB; bare node ${mb(f.bareNodeRssBytes)}); ` +
    `first CONNACK ${range(f.servingMs, (n) => String(Math.round(n)))} ms after process start (target ≤ 400 ms); ` +
    `RSS ${range(f.servedRssBytes, mbs)} MB a second after that sensor published QoS 1`);
  line('idle', `code cache per served start (scripts/code-cache.mjs; the first start after a build writes it): ${f.codeCache.map((c) => c.read ? `${c.accepted} modules from it, ${c.rejected} rejected, ${c.missing} not in it` : `none yet, ${c.saved} modules saved`).join('; ')}`);
  line('idle', `bare node, process start to its first line of JavaScript: ${Math.round(f.bareNodeStartMs.asIs)} ms${process.env.NODE_EXTRA_CA_CERTS ? `, ${Math.round(f.bareNodeStartMs.withoutExtraCaCerts)} ms without NODE_EXTRA_CA_CERTS (set here: Node 20 parses that file at every start)` : ''}`);
  line('idle', `modules loaded by origin (ES modules as resolved, CommonJS from the require cache): ${f.modules.map((m) => `${m.origin} ${m.count}`).join(', ')}`);
  line('idle', `start-up CPU by origin (ms, source files seen in the profile's samples): ${f.origins.slice(0, 12).map((o) => `${o.origin} ${Math.round(o.ms)} (${o.files})`).join(', ')}`);
  line('idle', `build check in the bins (a fresh build: ${f.buildCheck.files} files stat'ed): ${f.buildCheck.medianUs.toFixed(0)} µs; a rebuild (a source changed): ${Math.round(f.rebuildMs)} ms`);
}

/** QoS 1 and sleeping buffers with persistence off, then on: the cost of keeping sessions. */
async function kept(load: LoadGenerator, brokerUrl: string, brokerPid: number | undefined): Promise<void> {
  const qos1Rate: number[] = [];
  const sleepRate: number[] = [];
  for (const persistence of [false, true]) {
    const tag = persistence ? 'persistence on ' : 'persistence off';
    {
      const { gateway, target } = await startGateway(brokerUrl, persistence);
      const watch = new WindowWatch(brokerPid);
      const r = await load.run<Qos1Result>({ kind: 'qos1', target, sensors: SENSORS, warmupMs: QOS1.warmupMs, durationMs: QOS1.durationMs, cleanSession: false }, watch.onWindow);
      qos1Rate.push(r.acked / r.seconds);
      line('kept', `${tag}: QoS 1, ${SENSORS} CleanSession=0 sensors, 1 in flight each: ${int(r.acked / r.seconds)} msg/s acknowledged, ` +
        `p50 ${ms(r.latencyMs.p50)} ms, p99 ${ms(r.latencyMs.p99)} ms [${r.stalled} stalled; ${gateway.core.persistence.commits} store commits]`);
      cpuLine(watch.figures!, r.cpuMs);
      await watch.printProfile();
      await gateway.stop();
    }
    {
      const { gateway, target } = await startGateway(brokerUrl, persistence);
      const topic = 'bench/sleep';
      await load.run({ kind: 'sleepers', target, sensors: SLEEP.sensors, topic });
      let buffered = 0;
      let firstAt = 0;
      let lastAt = 0;
      gateway.core.events.on('messageBuffered', () => {
        lastAt = performance.now();
        if (buffered++ === 0) firstAt = lastAt;
      });
      const watch = new WindowWatch(brokerPid);
      const expected = SLEEP.messages * SLEEP.sensors;
      const r = await load.run<SleepersPublishResult>({ kind: 'sleepersPublish', target, topic, messages: SLEEP.messages }, watch.onWindow);
      await waitUntil(() => buffered >= expected, 60_000);
      await gateway.core.flush();
      const seconds = (performance.now() - firstAt) / 1000;
      sleepRate.push(buffered / SLEEP.sensors / seconds);
      line('kept', `${tag}: ${int(SLEEP.messages)} QoS 1 messages to ${SLEEP.sensors} sleeping sensors: ${int(buffered / SLEEP.sensors / seconds)} msg/s taken in ` +
        `(${int(buffered / seconds)} buffered/s), ${int(buffered)} of ${int(expected)} buffered in ${seconds.toFixed(2)} s [publisher done in ${r.seconds.toFixed(2)} s; ` +
        `${gateway.core.persistence.commits} store commits]`);
      cpuLine(watch.figures!, r.cpuMs, Math.max(r.seconds, (lastAt - firstAt) / 1000));
      await watch.printProfile();
      await load.run({ kind: 'releaseSleepers' });
      await gateway.stop();
    }
  }
  line('kept', `persistence on / off: QoS 1 ${pct((100 * qos1Rate[1]) / qos1Rate[0])}, sleeping buffers ${pct((100 * sleepRate[1]) / sleepRate[0])} (target ≥ 80%)`);
}

/** Resident memory of another process (Mosquitto), from /proc; undefined where there is no /proc. */
function rssOf(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb ? Number(kb[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Aggregating vs transparent: memory per connected sensor (gateway and Mosquitto), then QoS 1 throughput. */
async function modes(load: LoadGenerator, brokerUrl: string, brokerPid: number | undefined): Promise<void> {
  for (const mode of ['aggregating', 'transparent'] as const) {
    const { gateway, target } = await startGateway(brokerUrl, false, mode);
    const before = await settledMemory();
    const brokerBefore = rssOf(brokerPid);
    const r = await load.run<ConnectManyResult>({ kind: 'connectMany', target, sensors: MODES.sensors, forwarders: 0 });
    await waitUntil(() => gateway.core.connectedCount >= MODES.sensors, 10_000);
    const after = await settledMemory();
    const brokerAfter = rssOf(brokerPid);
    const n = gateway.core.connectedCount;
    const brokerPer = brokerBefore === undefined || brokerAfter === undefined ? '?' : int((brokerAfter - brokerBefore) / n);
    line('modes', `${mode}: ${int(n)} sensors connected: gateway heap ${int((after.heapUsed - before.heapUsed) / n)} B/sensor, ` +
      `RSS ${int((after.rss - before.rss) / n)} B/sensor; mosquitto RSS ${brokerPer} B/sensor [CONNECTs took ${r.seconds.toFixed(1)} s, ${int(r.resent)} resent]`);
    await load.run({ kind: 'releaseMany' });
    await gateway.stop();

    const fresh = await startGateway(brokerUrl, false, mode);
    const watch = new WindowWatch(brokerPid);
    const q = await load.run<Qos1Result>({ kind: 'qos1', target: fresh.target, sensors: SENSORS, warmupMs: QOS1.warmupMs, durationMs: MODES.qos1Seconds * 1000 }, watch.onWindow);
    line('modes', `${mode}: QoS 1, ${SENSORS} sensors, 1 in flight each: ${int(q.acked / q.seconds)} msg/s acknowledged, ` +
      `${int(q.delivered / q.seconds)} msg/s delivered; PUBACK p50 ${ms(q.latencyMs.p50)} ms, p99 ${ms(q.latencyMs.p99)} ms`);
    cpuLine(watch.figures!, q.cpuMs);
    await watch.printProfile();
    await fresh.gateway.stop();
  }
}

// ─────────────────────────────── main ───────────────────────────────

async function main(): Promise<void> {
  const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  whatIfs = parseWhatIfs(process.argv.slice(2));
  // `--paced=10000,20000`: other paced rates for qos1 (compare latency at a load both sides sustain).
  const paced = process.argv.find((a) => a.startsWith('--paced='));
  if (paced) QOS1.pacedRates = paced.slice('--paced='.length).split(',').map(Number);
  // `--paced-only`: qos1's paced runs without the closed loop and `direct` before them.
  pacedOnly = process.argv.includes('--paced-only');
  const ab = process.argv.find((a) => a.startsWith('--ab='))?.slice('--ab='.length);
  if (ab !== undefined) {
    if (!UNDOABLE.includes(ab as WhatIf)) throw new Error(`--ab takes one of ${UNDOABLE.join(', ')}`);
    abWhatIf = ab as WhatIf;
  }
  const profileArg = process.argv.find((a) => a === '--profile' || a.startsWith('--profile='));
  if (profileArg) profiling = { dir: profileArg.includes('=') ? profileArg.slice('--profile='.length) : undefined };
  // `--alloc-profile`: everything allocated over each window; `--alloc-profile=retained`: what is still in the heap at its end.
  const allocArg = process.argv.find((a) => a === '--alloc-profile' || a.startsWith('--alloc-profile='));
  if (allocArg) allocationProfiling = allocArg === '--alloc-profile=retained' ? 'retained' : 'all';
  const unknown = asked.filter((a) => !ALL.includes(a as ScenarioName));
  if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; choose from ${ALL.join(', ')}`);
  // Memory first, in a process whose heap has not yet grown for the throughput runs.
  const selected = asked.length ? ALL.filter((s) => asked.includes(s)) : ALL;
  // `--broker=embedded`: the crowd against the shipped config's embedded broker instead of Mosquitto.
  const brokerArg = process.argv.find((a) => a.startsWith('--broker='))?.slice('--broker='.length) ?? 'mosquitto';
  if (brokerArg !== 'mosquitto' && brokerArg !== 'embedded' && brokerArg !== 'aedes') throw new Error(`--broker takes mosquitto (default), embedded or aedes, not ${brokerArg}`);
  // `--broker=aedes`: qos1 and ratio against aedes in a process of its own (bench/lib/aedes-standalone.mjs).
  const aedesScenarios: ScenarioName[] = ['qos1', 'ratio'];
  if (brokerArg === 'aedes' && (asked.length === 0 || selected.some((s) => !aedesScenarios.includes(s)))) {
    throw new Error(`--broker=aedes runs ${aedesScenarios.join(', ')} only: npm run bench:gateway -- ratio --broker=aedes`);
  }
  const embeddedScenarios: ScenarioName[] = ['crowd', 'crowd100k', 'census', 'fanout', 'qos1'];
  if (brokerArg === 'embedded' && (asked.length === 0 || selected.some((s) => !embeddedScenarios.includes(s)))) {
    throw new Error(`--broker=embedded runs ${embeddedScenarios.join(', ')} only: npm run bench:gateway -- crowd --broker=embedded`);
  }

  const cpus = os.cpus();
  console.log(`node ${process.version}, ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (profiling) console.log('PROFILING each window: CPU figures include the profiler\'s own sampling');
  if (whatIfs.length) console.log(`WHAT-IF ${whatIfs.join(', ')}: these figures are NOT those of the gateway as shipped (bench/lib/what-if.ts)`);
  if (brokerArg === 'embedded') {
    brokerColumn = 'broker: aedes, counted in the gateway\'s figure';
    const load = LoadGenerator.start();
    console.log(`no Mosquitto: the shipped config's embedded broker, in this process (pid ${process.pid} is the gateway); sensors and the MQTT subscriber in a child process`);
    try {
      for (const scenario of selected) {
        if (scenario === 'crowd') await crowd(load, { kind: 'embedded' });
        if (scenario === 'crowd100k') await crowd100k(load, { kind: 'embedded' });
        if (scenario === 'census') await census(load, { kind: 'embedded' });
        if (scenario === 'fanout') await fanout(load, { kind: 'embedded' });
        if (scenario === 'qos1') await qos1(load, { kind: 'embedded' });
      }
    } finally {
      await load.stop();
    }
    return;
  }
  // `--broker-nodelay`: Mosquitto with TCP_NODELAY on its client sockets (off by default in Mosquitto 2.0),
  // which the gateway path and the direct path both go through.
  const brokerNoDelay = process.argv.includes('--broker-nodelay');
  const broker = brokerArg === 'aedes'
    ? await startAedesProcess()
    : await startMosquitto(brokerNoDelay ? { extraLines: () => ['set_tcp_nodelay true'] } : {});
  if (brokerNoDelay) console.log('Mosquitto with set_tcp_nodelay true');
  if (brokerArg === 'aedes') brokerLabel = 'aedes';
  const brokerPid = 'pid' in broker ? broker.pid : findChildPid('mosquitto');
  const load = LoadGenerator.start();
  console.log(`${brokerLabel} on ${broker.url}${brokerArg === 'aedes' ? ' (a process of its own, aedes\'s defaults)' : ''}; sensors and MQTT clients in a child process (pid ${process.pid} is the gateway)`);
  try {
    for (const scenario of selected) {
      if (scenario === 'alloc') await allocation(broker.url);
      if (scenario === 'upstream') await upstreamPath(broker.url);
      if (scenario === 'timers') timers();
      if (scenario === 'footprint') await footprint();
      if (scenario === 'memory') await memory(load, broker.url);
      if (scenario === 'crowd') await crowd(load, { kind: 'mosquitto', url: broker.url, pid: brokerPid });
      if (scenario === 'crowd100k') await crowd100k(load, { kind: 'mosquitto', url: broker.url, pid: brokerPid });
      if (scenario === 'census') await census(load, { kind: 'mosquitto', url: broker.url, pid: brokerPid });
      if (scenario === 'storm') await storm(load, broker.url, brokerPid);
      if (scenario === 'qos1') await qos1(load, { kind: 'mosquitto', url: broker.url, pid: brokerPid });
      if (scenario === 'ratio') await ratio(load, broker.url, brokerPid);
      if (scenario === 'qos0') await qos0(load, broker.url, brokerPid);
      if (scenario === 'burst') await burst(load, broker.url);
      if (scenario === 'fanout') await fanout(load, { kind: 'mosquitto', url: broker.url, pid: brokerPid });
      if (scenario === 'kept') await kept(load, broker.url, brokerPid);
      if (scenario === 'modes') await modes(load, broker.url, brokerPid);
    }
  } finally {
    await load.stop();
    await broker.stop();
  }
}

/** aedes on a free loopback port in a child process (`--broker=aedes`). */
async function startAedesProcess(): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = fork(fileURLToPath(new URL('./lib/aedes-standalone.mjs', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const { port } = await new Promise<{ port: number }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { port: number }));
    child.once('exit', (code) => reject(new Error(`aedes exited (${code}) before listening`)));
  });
  return {
    url: `mqtt://127.0.0.1:${port}`,
    pid: child.pid!,
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.send('stop');
    }),
  };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
