/**
 * End-to-end harness: a real broker (Mosquitto on a free port, or the embedded one), the real gateway
 * on a UDP radio bound to 127.0.0.1, a ManualClock driving the gateway's timers, real MQTT-SN sensors
 * (SnUdpPeer) sending real datagrams, and a plain `mqtt` client watching the broker side.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll } from 'vitest';
import { SnUdpPeer, type SnUdpPeerOptions } from '../../client/udp-peer.js';
import { ManualClock } from '../../gateway/core/clock.js';
import { parseConfig } from '../../gateway/config/config.js';
import type { GatewayConfig } from '../../gateway/config/config-types.js';
import type { UdpRadioConfig } from '../../radios/udp.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../gateway/broker/embedded-broker.js';
import { Gateway } from '../../gateway/gateway.js';
import type { UdpRadio } from '../../radios/udp.js';
import { startMosquitto, type RunningBroker } from './mosquitto.js';
import { WAIT_MS } from './wait.js';

export type BrokerKind = 'mosquitto' | 'embedded';

export interface Broker {
  kind: BrokerKind;
  url: string;
  stop(): Promise<void>;
  /** Mosquitto only: an outage and a return on the same port. */
  kill?(): Promise<void>;
  restart?(): Promise<void>;
}

export async function startBroker(kind: BrokerKind): Promise<Broker> {
  if (kind === 'mosquitto') {
    const m: RunningBroker = await startMosquitto();
    return { kind, url: m.url, stop: () => m.stop(), kill: () => m.kill(), restart: () => m.restart() };
  }
  const e: EmbeddedBroker = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
  return { kind, url: e.url, stop: () => e.close() };
}

export interface BrokerMessage { topic: string; payload: string; qos: number; retain: boolean }

/** A plain MQTT client on the broker: what any other MQTT application would see. */
export class Observer {
  readonly messages: BrokerMessage[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain });
    });
  }

  static async connect(url: string, clientId = `observer-${Math.random().toString(16).slice(2, 8)}`, options: IClientOptions = {}): Promise<Observer> {
    const client = await mqtt.connectAsync(url, { clientId, reconnectPeriod: 200, ...options });
    return new Observer(client);
  }

  async subscribe(filter: string, qos: 0 | 1 | 2 = 1): Promise<void> {
    await this.client.subscribeAsync(filter, { qos });
  }

  publish(topic: string, payload: string | Buffer, qos: 0 | 1 | 2 = 0, retain = false): Promise<unknown> {
    return this.client.publishAsync(topic, payload, { qos, retain });
  }

  /** Waits until `count` messages on `topic` (or any topic when omitted) have arrived. */
  async waitFor(count: number, topic?: string, timeoutMs = WAIT_MS): Promise<BrokerMessage[]> {
    const matching = () => this.messages.filter((m) => topic === undefined || m.topic === topic);
    await until(() => matching().length >= count, timeoutMs, () => `observer saw ${matching().length}/${count} messages${topic ? ' on ' + topic : ''}: ${JSON.stringify(this.messages)}`);
    return matching();
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export { WAIT_MS } from './wait.js';

export async function until(check: () => boolean, timeoutMs = WAIT_MS, describe: () => string = () => 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${describe()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Default gateway.yaml for tests: UDP on 127.0.0.1, broadcasts aimed at loopback, some predefined ids. */
export function testConfig(brokerUrl: string, extraYaml = ''): GatewayConfig {
  const yaml = `
gateway:
  id: 7
  advertiseInterval: 900
  retry: { interval: 10, count: 3 }
persistence: false
broker:
  url: ${brokerUrl}
  reconnectMin: 0.2
  reconnectMax: 1
radios:
  - { type: udp, host: 127.0.0.1, port: 10000, broadcastAddress: 127.0.0.1 }
topics:
  predefined:
    1: sn/predefined/one
    2: sn/predefined/two
  clients:
    special-node:
      predefined:
        1: sn/special/one
        10: sn/special/ten
${extraYaml}`;
  const config = parseConfig(yaml, 'test-gateway.yaml');
  // A free port per test file: the radio binds port 0 and the test asks it which one it got.
  (config.radios[0] as UdpRadioConfig).port = 0;
  // The HTTP face and the status topics only where a test asks for them (tests of other parts
  // neither bind a fixed port nor see status messages on the broker).
  if (!/^http:/m.test(extraYaml)) config.http = false;
  if (!/^status:/m.test(extraYaml)) config.status = false;
  return config;
}

export interface GatewayUnderTest {
  gateway: Gateway;
  clock: ManualClock;
  port: number;
  udp: UdpRadio;
  /** Every message the gateway's broker connection received, in order: what its broker subscriptions let in. */
  brokerMessages: BrokerMessage[];
  /** A new sensor: a real UDP socket on 127.0.0.1 talking to the gateway. */
  sensor(options?: SnUdpPeerOptions): Promise<SnUdpPeer>;
  /** Advances the gateway's clock by `seconds`, in sweep-sized steps so every deadline is checked. */
  advance(seconds: number): void;
  stop(): Promise<void>;
}

export async function startGateway(config: GatewayConfig): Promise<GatewayUnderTest> {
  const clock = new ManualClock();
  const gateway = await Gateway.start(config, { clock, sweepIntervalMs: 1000 });
  const udp = gateway.radios[0] as UdpRadio;
  const port = udp.port;
  const sensors: SnUdpPeer[] = [];
  const brokerMessages: BrokerMessage[] = [];
  const sink = gateway.core.upstreamSink;
  const deliver = sink.message;
  // Recorded on the way; the core's answer (a promise: acknowledge once stored) goes back to the upstream as shipped.
  sink.message = (topic, payload, qos, retain, delivery) => {
    brokerMessages.push({ topic, payload: payload.toString(), qos, retain });
    return deliver(topic, payload, qos, retain, delivery);
  };
  await until(() => gateway.upstream.connected, WAIT_MS, () => 'gateway connected to the broker');
  return {
    gateway,
    clock,
    port,
    udp,
    brokerMessages,
    async sensor(options = {}) {
      const peer = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port }, ...options });
      sensors.push(peer);
      return peer;
    },
    advance(seconds: number) {
      for (let i = 0; i < seconds; i++) clock.advance(1000);
    },
    async stop() {
      await Promise.all(sensors.map((s) => s.close()));
      await gateway.stop();
    },
  };
}

/** CONNECT without will, expecting CONNACK accepted. */
export async function connect(sensor: SnUdpPeer, clientId: string, options: { duration?: number; cleanSession?: boolean } = {}): Promise<void> {
  sensor.send({ type: 'CONNECT', will: false, cleanSession: options.cleanSession ?? true, duration: options.duration ?? 60, clientId });
  const connack = await sensor.expect('CONNACK');
  if (connack.returnCode !== 0) throw new Error(`CONNACK ${connack.returnCode}`);
}

/** REGISTER a topic name, returning the topic id from REGACK. */
export async function register(sensor: SnUdpPeer, topicName: string, msgId = 1): Promise<number> {
  sensor.send({ type: 'REGISTER', topicId: 0, msgId, topicName });
  const regack = await sensor.expect('REGACK');
  if (regack.returnCode !== 0 || regack.msgId !== msgId) throw new Error(`REGACK ${JSON.stringify(regack)}`);
  return regack.topicId;
}

export interface GatewaySuite {
  broker: Broker;
  gw: GatewayUnderTest;
  observer: Observer;
}

/**
 * One broker, one gateway and one observer for a describe block, started before its tests and stopped
 * after them. The returned object's fields are set once the suite starts.
 */
export function gatewaySuite(
  kind: BrokerKind,
  options: { configure?: (config: GatewayConfig) => void; observe?: { filter: string; qos?: 0 | 1 | 2 }[]; started?: (gw: GatewayUnderTest) => void } = {},
): GatewaySuite {
  const suite = {} as GatewaySuite;
  beforeAll(async () => {
    suite.broker = await startBroker(kind);
    const config = testConfig(suite.broker.url);
    options.configure?.(config);
    suite.gw = await startGateway(config);
    options.started?.(suite.gw);
    suite.observer = await Observer.connect(suite.broker.url);
    for (const { filter, qos } of options.observe ?? []) await suite.observer.subscribe(filter, qos ?? 1);
  });
  afterAll(async () => {
    await suite.observer?.close();
    await suite.gw?.stop();
    await suite.broker?.stop();
  });
  return suite;
}
