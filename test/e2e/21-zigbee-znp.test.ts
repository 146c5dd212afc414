/**
 * Zigbee from the dongle's bytes up: the real gateway (Gateway object and daemon), the real ZigbeeRadio and
 * zigbee-herdsman's real `zstack` adapter, talking ZNP to an emulated Z-Stack dongle (test/support/znp-emulator.ts)
 * over a socat pseudo-terminal pair (as /dev/ttyUSB0) or herdsman's `tcp://` path; a real Mosquitto upstream.
 *
 * herdsman keeps process-wide state (device cache, database handle): the gateways here run one after another.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../gateway/core/clock.js';
import { parseConfig } from '../../gateway/config/config.js';
import { Gateway } from '../../gateway/gateway.js';
import type { Logger } from '../../gateway/logger.js';
import type { ZigbeeRadio } from '../../radios/zigbee.js';
import { NETWORK_KEY_FILE } from '../../radios/zigbee-network-key.js';
import { Observer, startBroker, until, type Broker } from '../support/harness.js';
import { Nv, PtyLink, ZnpDongle } from '../support/znp-emulator.js';

const PAN_ID = 0x2b7c;
const CHANNEL = 20;

let broker: Broker;
let observer: Observer;

beforeAll(async () => {
  broker = await startBroker('mosquitto');
  observer = await Observer.connect(broker.url);
  await observer.subscribe('zb/#');
});
afterAll(async () => {
  await observer?.close();
  await broker?.stop();
});

class LogLines implements Logger {
  readonly lines: { level: string; message: string }[] = [];
  log(level: string, message: string): void {
    this.lines.push({ level, message });
  }
  matching(pattern: RegExp): string[] {
    return this.lines.map((l) => l.message).filter((m) => pattern.test(m));
  }
}

interface Running {
  gateway: Gateway;
  clock: ManualClock;
  zigbee: ZigbeeRadio;
  logs: LogLines;
}

async function startGateway(stateDir: string, path: string, extra = ''): Promise<Running> {
  const config = parseConfig(`
gateway: { advertiseInterval: 0, retry: { interval: 10, count: 3 } }
broker: { url: ${broker.url} }
radios:
  - { type: zigbee, adapter: zstack, path: '${path}', panId: ${PAN_ID}, channel: ${CHANNEL}${extra} }
stateDir: ${stateDir}
`, 'zigbee-znp.yaml');
  const clock = new ManualClock();
  const logs = new LogLines();
  const gateway = await Gateway.start(config, { clock, logger: logs });
  await until(() => gateway.upstream.connected, 5000, () => 'gateway connected to the broker');
  const zigbee = gateway.radios[0] as ZigbeeRadio;
  return { gateway, clock, zigbee, logs };
}

describe('21 Zigbee over ZNP: formation and resume (pty)', () => {
  const dongle = new ZnpDongle();
  let stateDir: string;
  let link: PtyLink | undefined;
  let running: Running | undefined;

  beforeAll(() => {
    stateDir = mkdtempSync(join(tmpdir(), 'znp-state-'));
  });
  afterEach(async () => {
    await running?.gateway.stop();
    running = undefined;
    await link?.close();
    link = undefined;
    dongle.assertNoProblems();
  });
  afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

  it('first start on a fresh dongle forms the network with the configured PAN id and channel and the key generated in stateDir', async () => {
    link = await PtyLink.open(dongle);
    running = await startGateway(stateDir, link.path);
    expect(running.zigbee.running).toBe(true);
    expect(dongle.formations).toBe(1);
    const nib = dongle.nib!;
    expect(nib.nwkPanId).toBe(PAN_ID);
    expect(nib.nwkLogicalChannel).toBe(CHANNEL);
    expect(nib.channelList).toBe(1 << CHANNEL);
    const stored = JSON.parse(readFileSync(join(stateDir, NETWORK_KEY_FILE), 'utf8')) as { networkKey: number[] };
    expect([...dongle.networkKey!]).toEqual(stored.networkKey);
    expect(dongle.nv.get(Nv.HAS_CONFIGURED_ZSTACK3)).toEqual(Buffer.from([0x55]));
    expect(running.logs.matching(/Zigbee coordinator started \(reset\)/)).toHaveLength(1);
  });

  it('herdsman keeps its database and coordinator backup in stateDir, where README says', async () => {
    link = await PtyLink.open(dongle);
    running = await startGateway(stateDir, link.path);
    await until(() => existsSync(join(stateDir, 'zigbee-backup.json')), 10_000, () => 'zigbee-backup.json');
    const backup = JSON.parse(readFileSync(join(stateDir, 'zigbee-backup.json'), 'utf8')) as { pan_id: string; channel: number; network_key: { key: string } };
    expect(parseInt(backup.pan_id, 16)).toBe(PAN_ID);
    expect(backup.channel).toBe(CHANNEL);
    expect(Buffer.from(backup.network_key.key, 'hex')).toEqual(dongle.networkKey);
    await running.gateway.stop();
    running = undefined;
    expect(existsSync(join(stateDir, 'zigbee.db'))).toBe(true);
  });

  it('a second start resumes the network: not formed again, the same key', async () => {
    const keyBefore = dongle.networkKey;
    link = await PtyLink.open(dongle);
    running = await startGateway(stateDir, link.path);
    expect(dongle.formations).toBe(1);
    expect(dongle.networkKey).toEqual(keyBefore);
    expect(running.logs.matching(/Zigbee coordinator started \(resumed\)/)).toHaveLength(1);
  });
});
