/**
 * The gateway as the shipped gateway.yaml runs it, for e2e tests: no broker URL (its own embedded aedes
 * broker, reached in memory), persistence on a fresh stateDir, real UDP sensors, and plain MQTT clients
 * of that broker over TCP. Everything a test starts is ended after it (`cleanups`: cleanups.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnUdpPeer } from '../../client/udp-peer.js';
import type { BrokerSection, GatewayConfig } from '../../gateway/config/config-types.js';
import type { UdpRadioConfig } from '../../radios/udp.js';
import type { Cleanups } from './cleanups.js';
import { subscribe } from './flows.js';
import { connect, Observer, startGateway, testConfig, type GatewayUnderTest } from './harness.js';

/** The broker section of an upstream on the embedded broker, for tests that build the upstream themselves; it reconnects within a second. */
export function embeddedBrokerSection(clientId: string): BrokerSection {
  return {
    mode: 'aggregating', clientId, clientIdPrefix: '', protocolVersion: 4, keepalive: 60, reconnectMin: 0.2, reconnectMax: 1,
    embedded: { host: '127.0.0.1', port: 0, tcpNoDelay: true },
  };
}

/** The shipped config's shape: embedded broker, persistence on `stateDir`; `port`: the UDP port (0: a free one). */
export function shippedLikeConfig(stateDir: string, port = 0, extraYaml = ''): GatewayConfig {
  const config = testConfig('mqtt://unused', extraYaml);
  config.broker.url = undefined;
  config.broker.embedded = { host: '127.0.0.1', port: 0, tcpNoDelay: true };
  config.persistence = true;
  config.stateDir = stateDir;
  (config.radios[0] as UdpRadioConfig).port = port;
  return config;
}

export function newStateDir(cleanups: Cleanups): string {
  const dir = mkdtempSync(join(tmpdir(), 'gw-embedded-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts the gateway; stopped after the test unless the test stops it itself (a second stop does nothing). */
export async function up(cleanups: Cleanups, config: GatewayConfig): Promise<GatewayUnderTest> {
  const gw = await startGateway(config);
  let stopped = false;
  const stop = gw.stop.bind(gw);
  gw.stop = async () => {
    if (stopped) return;
    stopped = true;
    await stop();
  };
  cleanups.push(() => gw.stop());
  return gw;
}

/** A plain MQTT client of the embedded broker, subscribed to `filters` at QoS 1. */
export async function observer(cleanups: Cleanups, gw: GatewayUnderTest, ...filters: string[]): Promise<Observer> {
  const o = await Observer.connect(gw.gateway.brokerUrl);
  cleanups.push(() => o.close());
  for (const filter of filters) await o.subscribe(filter, 1);
  return o;
}

/**
 * A CleanSession=0 sensor of `gw`, subscribed to `topic`, on a socket of its own that stays open across a
 * restart of the gateway on the same port: the restored session sends to the same address.
 */
export async function keptSubscriber(cleanups: Cleanups, gw: GatewayUnderTest, clientId: string, topic: string, qos: 0 | 1 | 2): Promise<{ sensor: SnUdpPeer; topicId: number }> {
  const sensor = await SnUdpPeer.open({ gateway: { host: '127.0.0.1', port: gw.port } });
  cleanups.push(() => sensor.close());
  await connect(sensor, clientId, { cleanSession: false });
  const { topicId } = await subscribe(sensor, topic, qos);
  return { sensor, topicId };
}
