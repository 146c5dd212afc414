/**
 * Issue 13: what the gateway allocates per QoS 1 message on its whole path (UDP in, decode, core, the
 * batched PUBLISH to a real Mosquitto, its PUBACK read off the connection, our PUBACK encoded and sent),
 * bounded in bytes, never in time. The sensors run in a worker thread with a heap of their own
 * (support/qos1-allocation.ts), so the bytes counted are the gateway's; they are exact (V8's GC profiler).
 * What the gateway allocates per event-loop turn is spread over the messages of that turn, so the sensors
 * send in bursts that each arrive in one turn, however busy the machine; what is left to vary is what V8
 * has optimized, hence the warm-up, the least of three windows and the margin. 3,700 B a message before
 * issue 13's work on this path; undoing any one of its cuts fails the bound. Measured with each undone
 * alone: a Map for the upstream's in-flight messages +90 B, a Map for a client's incoming publishes +150 B,
 * dgram's own lookup +210 B, a checked send per datagram +220 B, PUBACKs parsed by mqtt.js +900 B. Smaller
 * ones are pinned where they are made (no closure per message: core/state-machine.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, testConfig, type GatewayUnderTest } from '../support/harness.js';
import { startMosquitto, type RunningBroker } from '../support/mosquitto.js';
import { qos1Sensors, type QoS1Sensors } from '../support/qos1-allocation.js';

/** Sensors, each with one message in every burst: the gateway handles each burst in one event-loop turn. */
const SENSORS = 32;
/** Messages per measured window; the warm-up is two of them. */
const ROUND = 1000;
/**
 * Bytes per message the path may allocate: 1,520–1,535 measured (the least of three windows), and a margin
 * under the smallest cut listed above (90 B). Was 1,490 before the prompt acknowledgement: its PINGREQ and
 * the burst's PUBACKs now coming in two reads instead of one cost about 1 KB a burst of 32.
 */
const BOUND = 1600;

describe('02 publish: allocation per QoS 1 message (issue 13)', () => {
  let broker: RunningBroker;
  let gw: GatewayUnderTest;
  let sensors: QoS1Sensors;
  beforeAll(async () => {
    // Mosquitto as shipped: Nagle on its side holds a burst's PUBACKs behind its first until our
    // acknowledgement, which the gateway sends within 1 ms (prompt-ack.ts): each burst is one turn in,
    // and out in two reads (the first PUBACK, then the rest).
    broker = await startMosquitto();
    // As bench/gateway.ts measures it: no HTTP face, no status topics.
    gw = await startGateway(testConfig(broker.url, 'http: false\nstatus: false\n'));
    sensors = await qos1Sensors(gw.port, SENSORS, 'alloc', 'alloc/t');
    await sensors.measure(2 * ROUND, { bursts: true }); // warm-up: V8 optimizes the path
  });
  afterAll(async () => {
    await sensors?.close();
    await gw?.stop();
    await broker?.stop();
  });

  it(`§6.6 a QoS 1 PUBLISH through to the broker and its PUBACK back allocate under ${BOUND} bytes of heap, all acknowledged`, async () => {
    // Three windows; the least is the path's own figure (a window can only be inflated, by code V8 has not
    // optimized yet on a busy machine, never deflated).
    const runs = [];
    for (let window = 0; window < 3; window++) runs.push(await sensors.measure(ROUND, { bursts: true }));
    expect(runs.map((r) => [r.messages, r.refused])).toEqual([[ROUND, 0], [ROUND, 0], [ROUND, 0]]);
    expect(gw.gateway.core.stats.publishedToBroker).toBe(5 * ROUND);
    const least = Math.min(...runs.map((r) => r.bytesPerMessage));
    expect(least, `allocated ${Math.round(least)} B per message (windows: ${runs.map((r) => Math.round(r.bytesPerMessage)).join(', ')})`).toBeLessThan(BOUND);
  });
});
