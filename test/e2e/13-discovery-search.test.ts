/**
 * Discovery that reaches the searcher (§6.1), end to end with Mosquitto: a SEARCHGW from an ephemeral
 * port is answered to that port (and still broadcast), the client's searchGateways() finds the gateway,
 * and the `mqtt-sn` command finds it (`search`) and uses it (`pub --search`, `sub --search`).
 */
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchGateways } from '../../client/search.js';
import type { UdpRadioConfig } from '../../radios/udp.js';
import { decode } from '../../sn-codec/index.js';
import type { SnMessage } from '../../sn-codec/types.js';
import { gatewaySuite, until } from '../support/harness.js';
import { runCli } from '../support/cli.js';

const WAIT = 5000;



/** Stands in for every other sensor in radio range: it hears what the gateway broadcasts. */
const heardByBroadcast: SnMessage[] = [];
const listener = dgram.createSocket('udp4');
listener.on('message', (frame) => heardByBroadcast.push(decode(frame)));
beforeAll(() => new Promise<void>((resolve) => listener.bind(0, '127.0.0.1', () => resolve())));
afterAll(() => new Promise<void>((resolve) => listener.close(() => resolve())));

const t = gatewaySuite('mosquitto', {
  observe: [{ filter: 'search/#', qos: 1 }],
  configure: (config) => {
    config.gateway.advertiseInterval = 0; // only GWINFO on the broadcast listener
    const radio = config.radios[0] as UdpRadioConfig;
    radio.broadcastAddress = '127.0.0.1';
    radio.broadcastPort = listener.address().port;
  },
});

describe('13 search: §6.1 SEARCHGW reaches the searcher', () => {
  it('§6.1 SEARCHGW from an ephemeral port gets a GWINFO back on that port, and the broadcast GWINFO still goes out', async () => {
    const s = await t.gw.sensor();
    const broadcastBefore = heardByBroadcast.length;
    s.send({ type: 'SEARCHGW', radius: 1 });
    expect(await s.expect('GWINFO', WAIT)).toEqual({ type: 'GWINFO', gwId: 7 });
    await until(() => heardByBroadcast.length > broadcastBefore, WAIT);
    expect(heardByBroadcast.slice(broadcastBefore)).toEqual([{ type: 'GWINFO', gwId: 7 }]);
  });

  it('§6.1 searchGateways() finds the gateway at the address it answers from', async () => {
    const found = await searchGateways({ to: { host: '127.0.0.1', port: t.gw.port }, count: 1, timeoutMs: WAIT });
    expect(found).toEqual([{ gwId: 7, host: '127.0.0.1', port: t.gw.port, via: 'GWINFO' }]);
  });
});

describe('13 search: the mqtt-sn command', () => {
  it('§6.1 `mqtt-sn search` prints the GWINFO heard with the gateway\'s address and GwId', async () => {
    const run = await runCli(['search', '-p', String(t.gw.port), '-C', '1', '-W', '10']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe(`GWINFO gwId=7 from 127.0.0.1:${t.gw.port}\n`);
    expect(run.code).toBe(0);
  });

  it('§6.1 `mqtt-sn search` where no gateway listens exits 1 and says so', async () => {
    const silent = dgram.createSocket('udp4'); // a port that takes SEARCHGW and never answers
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', () => resolve()));
    const heard = new Promise<void>((resolve) => silent.once('message', () => resolve()));
    const port = silent.address().port;
    try {
      const run = await runCli(['search', '-p', String(port), '-W', '1']);
      await heard; // the SEARCHGW did go out
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(`mqtt-sn: no gateway answered SEARCHGW sent to 127.0.0.1:${port} within 1 s\n`);
      expect(run.code).toBe(1);
    } finally {
      silent.close();
    }
  });

  it('§6.1 `mqtt-sn pub --search` finds the gateway, then publishes through it', async () => {
    const run = await runCli(['pub', '--search', '-p', String(t.gw.port), '-W', '20', '-i', 'searching-pub', '-t', 'search/pub', '-m', 'found-you', '-q', '1']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect((await t.observer.waitFor(1, 'search/pub'))[0]).toMatchObject({ payload: 'found-you', qos: 1 });
  });

  it('§6.1 `mqtt-sn sub --search` finds the gateway, then subscribes through it', async () => {
    await t.observer.publish('search/sub', 'retained-for-you', 1, true);
    const run = await runCli(['sub', '--search', '-p', String(t.gw.port), '-W', '20', '-C', '1', '-v', '-i', 'searching-sub', '-t', 'search/sub']);
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('search/sub retained-for-you\n');
    expect(run.code).toBe(0);
    await t.observer.publish('search/sub', '', 1, true); // clear the retained message
  });
});
