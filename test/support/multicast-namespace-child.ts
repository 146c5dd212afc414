/**
 * Run by test/e2e/13-discovery-multicast.test.ts INSIDE a network namespace of its own (only a loopback with a
 * multicast route): a real Mosquitto, the real gateway with `multicast` on its UDP radio, a listener on
 * Paho's group standing in for Paho-based sensors, a multicast SEARCHGW (the client library and the
 * `mqtt-sn search` command), then a CONNECT and PUBLISH to the gateway found. Prints one JSON line.
 * Never run it outside a namespace: it sends multicast.
 */
import dgram from 'node:dgram';
import mqtt from 'mqtt';
import { MqttSnClient } from '../../client/client.js';
import { searchGateways } from '../../client/search.js';
import { parseConfig } from '../../gateway/config/config.js';
import { Gateway } from '../../gateway/gateway.js';
import { decode } from '../../sn-codec/index.js';
import { startMosquitto } from './mosquitto.js';
import { runCli } from './cli.js';

const GROUP = '225.1.1.1';
const GROUP_PORT = 1883;
const GATEWAY_PORT = 10000;

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}


// In a user namespace (tests not run as root) Mosquitto, seeing uid 0, would try to drop to its own
// user and fail: there it stays the mapped root.
const inUserNamespace = process.env.MULTICAST_TEST_USER_NAMESPACE === '1';
const broker = await startMosquitto(inUserNamespace ? { listenerLines: () => ['user root'] } : {});
const observer = await mqtt.connectAsync(broker.url, { clientId: 'mc-observer' });
const published: string[] = [];
observer.on('message', (topic, payload) => published.push(`${topic} ${payload.toString()}`));
await observer.subscribeAsync('mc/#', { qos: 1 });

// advertiseInterval 1: the group listener, which joins later, hears an ADVERTISE soon after.
const gateway = await Gateway.start(parseConfig(`
gateway: { id: 42, advertiseInterval: 1 }
persistence: false
broker: { url: ${broker.url} }
http: false
status: false
radios:
  - { type: udp, host: 127.0.0.1, port: ${GATEWAY_PORT}, multicast: { group: ${GROUP}, port: ${GROUP_PORT}, ttl: 1 } }
`));
const logs: string[] = [];
gateway.core.events.on('log', (level, message) => logs.push(`${level} ${message}`));

const onGroup: { type: string; gwId: number; from: string }[] = [];
let groupListener: dgram.Socket | undefined;
const result: Record<string, unknown> = {};
try {
  // First, while the gateway is the only member of the group: a SEARCHGW to the group reaches it
  // only because the gateway joined (Linux delivers group traffic once any socket on the host has).
  const found = await searchGateways({ to: { host: GROUP, port: GROUP_PORT }, count: 1, timeoutMs: 10_000, multicastInterface: '127.0.0.1' });
  result.found = found;

  // Then a Paho-based sensor listens on the group for ADVERTISE and GWINFO.
  groupListener = dgram.createSocket({ type: 'udp4', reuseAddr: true });
  await new Promise<void>((resolve) => groupListener!.bind(GROUP_PORT, GROUP, () => resolve()));
  groupListener.addMembership(GROUP, '127.0.0.1');
  groupListener.on('message', (frame, rinfo) => {
    const m = decode(frame);
    if (m.type === 'ADVERTISE' || m.type === 'GWINFO') onGroup.push({ type: m.type, gwId: m.gwId, from: `${rinfo.address}:${rinfo.port}` });
  });
  await until(() => onGroup.some((m) => m.type === 'ADVERTISE'), 'ADVERTISE on the group');
  result.advertise = onGroup.find((m) => m.type === 'ADVERTISE');

  const cli = await runCli(['search', '-h', GROUP, '-p', String(GROUP_PORT), '--interface', '127.0.0.1', '-C', '1', '-W', '10']);
  result.cli = cli;
  await until(() => onGroup.some((m) => m.type === 'GWINFO'), 'GWINFO on the group');
  result.gwinfoOnGroup = onGroup.find((m) => m.type === 'GWINFO');

  // The sensor connects to the address the GWINFO came from and publishes.
  const [first] = found;
  if (first) {
    const client = await MqttSnClient.open({ gateway: { host: first.host, port: first.port } });
    await client.connect({ clientId: 'paho-like-sensor' });
    await client.publish('mc/hello', 'found by multicast', { qos: 1 });
    await client.disconnect();
    await client.close();
    await until(() => published.length > 0, 'the PUBLISH on the broker');
  }
  result.published = published;
} catch (err) {
  result.error = (err as Error).message;
  result.logs = logs;
} finally {
  await gateway.stop();
  groupListener?.close();
  await observer.endAsync();
  await broker.stop();
}
process.stdout.write(`${JSON.stringify(result)}\n`);
