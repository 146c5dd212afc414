/**
 * Gateway discovery (§6.1) end to end: ADVERTISE at start-up and every advertiseInterval seconds,
 * SEARCHGW answered by a broadcast GWINFO. "Broadcast" goes to a listener socket on 127.0.0.1
 * (the radio's broadcastAddress/broadcastPort point at it): no LAN traffic.
 */
import dgram from 'node:dgram';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { UdpRadioConfig } from '../../radios/udp.js';
import { decode } from '../../sn-codec/index.js';
import type { SnMessage } from '../../sn-codec/types.js';
import { startBroker, startGateway, testConfig, until, type Broker, type GatewayUnderTest } from '../support/harness.js';
import { expectNothingBeforeConnack } from '../support/flows.js';

/** A UDP socket standing in for every sensor in radio range: it hears what the gateway broadcasts. */
class BroadcastListener {
  readonly heard: SnMessage[] = [];
  private constructor(private readonly socket: dgram.Socket) {
    socket.on('message', (frame) => this.heard.push(decode(frame)));
  }

  static async open(): Promise<BroadcastListener> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new BroadcastListener(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  async waitFor(count: number, type: SnMessage['type']): Promise<SnMessage[]> {
    const ofType = () => this.heard.filter((m) => m.type === type);
    await until(() => ofType().length >= count, undefined, () => `heard ${JSON.stringify(this.heard)}`);
    return ofType();
  }

  /**
   * What was broadcast before a later, explicit event: a sensor's SEARCHGW is answered with a GWINFO
   * broadcast over the same socket, so everything broadcast before it has arrived once it has.
   */
  async heardBefore(gw: GatewayUnderTest): Promise<SnMessage[]> {
    const gwinfos = this.heard.filter((m) => m.type === 'GWINFO').length;
    const s = await gw.sensor();
    s.send({ type: 'SEARCHGW', radius: 0 });
    await this.waitFor(gwinfos + 1, 'GWINFO');
    let marker = -1;
    this.heard.forEach((m, i) => { if (m.type === 'GWINFO') marker = i; });
    return this.heard.slice(0, marker);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

describe('§6.1 gateway discovery with mosquitto', () => {
  let broker: Broker;
  let gw: GatewayUnderTest | undefined;
  let listener: BroadcastListener | undefined;
  beforeAll(async () => {
    broker = await startBroker('mosquitto');
  });
  afterAll(async () => {
    await broker?.stop();
  });
  afterEach(async () => {
    await gw?.stop();
    await listener?.close();
    gw = undefined;
    listener = undefined;
  });

  /** A gateway whose broadcasts reach `listener`, with gateway.id 7 (testConfig) and this advertiseInterval. */
  async function gatewayHeardBy(advertiseInterval: number): Promise<{ gw: GatewayUnderTest; listener: BroadcastListener }> {
    listener = await BroadcastListener.open();
    const config = testConfig(broker.url);
    config.gateway.advertiseInterval = advertiseInterval;
    const radio = config.radios[0] as UdpRadioConfig;
    radio.broadcastAddress = '127.0.0.1';
    radio.broadcastPort = listener.port;
    gw = await startGateway(config);
    return { gw, listener };
  }

  it('§6.1 ADVERTISE is broadcast once at start-up, with GwId from the config and Duration = advertiseInterval', async () => {
    const { gw, listener } = await gatewayHeardBy(60);
    const [advertise] = await listener.waitFor(1, 'ADVERTISE');
    expect(advertise).toEqual({ type: 'ADVERTISE', gwId: 7, duration: 60 });
    expect(await listener.heardBefore(gw)).toEqual([advertise]);
  });

  it('§6.1 ADVERTISE is repeated every advertiseInterval seconds, not sooner', async () => {
    const { gw, listener } = await gatewayHeardBy(60);
    await listener.waitFor(1, 'ADVERTISE');
    gw.advance(59);
    expect((await listener.heardBefore(gw)).filter((m) => m.type === 'ADVERTISE')).toHaveLength(1);
    gw.advance(1);
    await listener.waitFor(2, 'ADVERTISE');
    gw.advance(60 * 3);
    const all = await listener.waitFor(5, 'ADVERTISE');
    expect(all.every((m) => m.type === 'ADVERTISE' && m.gwId === 7 && m.duration === 60)).toBe(true);
  });

  it('§6.1 advertiseInterval 0 turns ADVERTISE off', async () => {
    const { gw, listener } = await gatewayHeardBy(0);
    gw.advance(3600);
    expect(await listener.heardBefore(gw)).toEqual([]);
  });

  it('§6.1 SEARCHGW is answered with a broadcast GWINFO carrying the configured GwId and no GwAdd', async () => {
    const { gw, listener } = await gatewayHeardBy(0);
    const s = await gw.sensor();
    s.send({ type: 'SEARCHGW', radius: 1 });
    const [gwinfo] = await listener.waitFor(1, 'GWINFO');
    expect(gwinfo).toEqual({ type: 'GWINFO', gwId: 7 });
    // The searcher is answered directly as well (test/e2e/13-discovery-search.test.ts).
    expect(await s.expect('GWINFO')).toEqual({ type: 'GWINFO', gwId: 7 });
  });

  it('§6.1 GwId follows gateway.id in both ADVERTISE and GWINFO', async () => {
    listener = await BroadcastListener.open();
    const config = testConfig(broker.url);
    config.gateway.id = 200;
    config.gateway.advertiseInterval = 30;
    const radio = config.radios[0] as UdpRadioConfig;
    radio.broadcastAddress = '127.0.0.1';
    radio.broadcastPort = listener.port;
    gw = await startGateway(config);
    const s = await gw.sensor();
    s.send({ type: 'SEARCHGW', radius: 0 });
    await listener.waitFor(1, 'GWINFO');
    expect(listener.heard.filter((m) => m.type === 'ADVERTISE' || m.type === 'GWINFO').map((m) => 'gwId' in m && m.gwId)).toEqual([200, 200]);
  });

  it('§5.5/§6.1 SEARCHGW relayed by a forwarder is answered with GWINFO encapsulated for that node', async () => {
    const { gw, listener } = await gatewayHeardBy(0);
    const nodeId = Buffer.from([0xab, 0xcd]);
    const forwarder = await gw.sensor({ forwarder: { wirelessNodeId: nodeId } });
    forwarder.send({ type: 'SEARCHGW', radius: 1 });
    expect(await forwarder.expect('GWINFO')).toMatchObject({ gwId: 7 });
    expect(await listener.heardBefore(gw)).toEqual([]); // nothing broadcast for the forwarder's node
  });

  it('§6.1 ADVERTISE and GWINFO from another gateway on the same radio are ignored (no answer, no error)', async () => {
    const { gw, listener } = await gatewayHeardBy(0);
    const other = await gw.sensor();
    other.send({ type: 'ADVERTISE', gwId: 9, duration: 900 });
    other.send({ type: 'GWINFO', gwId: 9 });
    await expectNothingBeforeConnack(other, 'after-other-gateway', () => gw.gateway.core.stats.framesIn >= 2);
    expect(await listener.heardBefore(gw)).toEqual([]);
    expect(gw.gateway.core.stats).toMatchObject({ malformed: 0, unexpected: 0 });
  });
});
