import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { XBeeRadioConfig } from '../../radios/xbee.js';
import { MockBinding, RecordingSink, recordingBinding } from '../support/radio-test-kit.js';
import { encodeApiFrame } from '../../radios/xbee-api.js';
import { XBeeRadio } from '../../radios/xbee.js';
import { WAIT } from '../support/wait.js';


const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Real MQTT-SN 1.2 frames.
/** §5.4.4 CONNECT: clean session, duration 60 s, ClientId "testcli" (6 + 7 = 13 octets). */
const CONNECT = Buffer.from([0x0d, 0x04, 0x04, 0x01, 0x00, 0x3c, ...Buffer.from('testcli')]);
/** §5.4.5 CONNACK accepted. */
const CONNACK = hex('03 05 00');
/** §5.4.20 PINGRESP. */
const PINGRESP = hex('02 17');
/** §5.4.19 PINGREQ. */
const PINGREQ = hex('02 16');
/** §5.4.1 ADVERTISE: GwId 0, duration 900 s. */
const ADVERTISE = hex('05 00 01 0384');

const NODE = 'xbee:0013a20040a1b2c3';

// Wire bytes worked out by hand (checksum, and API=2 escaping of 11/13/7D/7E, length bytes included).
/** 0x90 Receive Packet from 0013A20040A1B2C3 / 1234 carrying CONNECT, API=2: the 13 in the address is escaped. */
const RX_CONNECT_API2 = hex('7E 0019 90 00 7D33 A2 00 40 A1 B2 C3 1234 01 0D 04 04 01 00 3C 74 65 73 74 63 6C 69 D3');
/** Same frame in API=1. */
const RX_CONNECT_API1 = encodeApiFrame(hex('90 0013A20040A1B2C3 1234 01 0D04040100 3C 74657374636C69'), 1);
/** 0x90 from 0013A2007D7E1113 carrying a PUBLISH whose payload is 7E 7D 11: nearly every byte escaped. */
const RX_SPECIAL_API2 = hex('7E 0016 90 00 7D33 A2 00 7D5D 7D5E 7D31 7D33 FFFE 01 0A 0C 00 0001 0000 7D5E 7D5D 7D31 7A');
const PUBLISH_SPECIAL = hex('0A 0C 00 0001 0000 7E 7D 11');
/** 0x10 Transmit Request, frame id 1, to 0013A20040A1B2C3 / FFFE, radius 0, options 0, carrying CONNACK (length 0x11 escaped). */
const TX_CONNACK_ID1 = hex('7E 00 7D31 10 01 00 7D33 A2 00 40 A1 B2 C3 FF FE 00 00 03 05 00 DE');
/** Frame id 2, carrying PINGRESP. */
const TX_PINGRESP_ID2 = hex('7E 0010 10 02 00 7D33 A2 00 40 A1 B2 C3 FFFE 00 00 02 17 CC');
/** Broadcast ADVERTISE: dst64 000000000000FFFF, dst16 FFFE, frame id 0 (no status); length 0x13 escaped. */
const TX_BROADCAST_ADVERTISE_API2 = hex('7E 00 7D33 10 00 000000000000FFFF FFFE 00 00 05 00 01 03 84 67');


function config(overrides: Partial<XBeeRadioConfig> = {}): XBeeRadioConfig {
  return { type: 'xbee', name: 'xbee0', path: '/dev/ttyXBEE0', baudRate: 9600, apiMode: 2, maxFrameSize: 84, ...overrides };
}


describe('XBeeRadio over MockBinding', () => {
  const radios: XBeeRadio[] = [];

  async function startRadio(overrides: Partial<XBeeRadioConfig> = {}, opts: { maxReadSize?: number; txStatusTimeoutMs?: number } = {}) {
    const cfg = config(overrides);
    // maxReadSize must be left out, not undefined: MockBinding would then re-read the same bytes forever.
    MockBinding.createPort(cfg.path, { echo: false, record: true, ...(opts.maxReadSize ? { maxReadSize: opts.maxReadSize } : {}) });
    const mock = recordingBinding();
    const radio = new XBeeRadio(cfg, {
      binding: mock.binding,
      txStatusTimeoutMs: opts.txStatusTimeoutMs,
      backoff: { initialMs: 10, maxMs: 50 },
    });
    radios.push(radio);
    const sink = new RecordingSink();
    await radio.start(sink);
    return { radio, sink, device: mock.device(), mock };
  }

  beforeEach(() => {
    MockBinding.reset();
  });

  afterEach(async () => {
    for (const radio of radios.splice(0)) await radio.stop();
  });

  describe('receiving', () => {
    it('0x90 Receive Packet split across one-byte reads (API=2) arrives keyed by the 64-bit source', async () => {
      const { radio, sink, device } = await startRadio({}, { maxReadSize: 1 });
      device.emitData(RX_CONNECT_API2);
      await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
      expect(sink.frames[0]).toEqual({ address: NODE, frame: CONNECT });
      expect(radio.stats.framesIn).toBe(1);
    });

    it('API=1: several frames in one read, including 7D and 7E as plain data', async () => {
      const { sink, device } = await startRadio({ apiMode: 1 });
      const special = encodeApiFrame(hex('90 0013A2007D7E1113 FFFE 01 0A0C0000010000 7E7D11'), 1);
      device.emitData(Buffer.concat([RX_CONNECT_API1, special, RX_CONNECT_API1]));
      await vi.waitFor(() => expect(sink.frames).toHaveLength(3), WAIT);
      expect(sink.frames[1]).toEqual({ address: 'xbee:0013a2007d7e1113', frame: PUBLISH_SPECIAL });
    });

    it('API=2: escaped bytes in the address and payload are restored', async () => {
      const { sink, device } = await startRadio();
      device.emitData(Buffer.concat([RX_SPECIAL_API2, RX_CONNECT_API2]));
      await vi.waitFor(() => expect(sink.frames).toHaveLength(2), WAIT);
      expect(sink.frames[0]).toEqual({ address: 'xbee:0013a2007d7e1113', frame: PUBLISH_SPECIAL });
      expect(sink.frames[1]).toEqual({ address: NODE, frame: CONNECT });
    });

    it('a frame with a bad checksum is dropped, counted and logged; garbage between frames is skipped', async () => {
      const { radio, sink, device } = await startRadio();
      const corrupted = Buffer.from(RX_CONNECT_API2);
      corrupted[corrupted.length - 1] ^= 0x01;
      const garbage = Buffer.from('OK\r');
      device.emitData(Buffer.concat([garbage, corrupted, garbage, RX_CONNECT_API2]));
      await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
      expect(radio.stats.badFrames).toBe(1);
      expect(radio.stats.garbageBytes).toBe(2 * garbage.length);
      const lines = sink.logs.filter((l) => l.message.includes('bad checksum'));
      expect(lines).toHaveLength(1);
      expect(lines[0].level).toBe('warn');
    });

    it('802.15.4 0x80 RX64 is keyed xbee:<64-bit>, 0x81 RX16 xbee16:<16-bit>', async () => {
      const { sink, device } = await startRadio();
      device.emitData(encodeApiFrame(Buffer.concat([hex('80 0013A20040A1B2C3 28 00'), PINGREQ]), 2));
      device.emitData(encodeApiFrame(Buffer.concat([hex('81 BEEF 28 00'), PINGREQ]), 2));
      await vi.waitFor(() => expect(sink.frames).toHaveLength(2), WAIT);
      expect(sink.frames.map((f) => f.address)).toEqual([NODE, 'xbee16:beef']);
    });

    it('frame types the gateway does not use (0x8A Modem Status) are counted and ignored', async () => {
      const { radio, sink, device } = await startRadio();
      device.emitData(Buffer.concat([encodeApiFrame(hex('8A 06'), 2), RX_CONNECT_API2]));
      await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
      expect(radio.stats.otherFrames).toBe(1);
      expect(radio.stats.badFrames).toBe(0);
    });
  });

  describe('sending', () => {
    it('0x10 Transmit Request bytes are exact, with rolling frame ids', async () => {
      const { radio, device } = await startRadio();
      radio.send(NODE, CONNACK);
      radio.send(NODE, PINGRESP);
      await vi.waitFor(() => expect(device.recording).toEqual(Buffer.concat([TX_CONNACK_ID1, TX_PINGRESP_ID2])), WAIT);
      expect(radio.stats.framesOut).toBe(2);
    });

    it('frame ids roll 1..255 and skip 0', async () => {
      const { radio, device } = await startRadio({ apiMode: 1 });
      for (let i = 0; i < 256; i++) radio.send(NODE, PINGRESP);
      const frameLength = 3 + 16 + 1; // start+length, frame-data, checksum
      await vi.waitFor(() => expect(device.recording.length).toBe(256 * frameLength), WAIT);
      const ids = Array.from({ length: 256 }, (_, i) => device.recording[i * frameLength + 4]);
      expect(ids.slice(0, 3)).toEqual([1, 2, 3]);
      expect(ids[254]).toBe(255);
      expect(ids[255]).toBe(1);
    });

    it('broadcast: dst64 000000000000FFFF, dst16 FFFE, frame id 0, bytes exact (API=2 and API=1)', async () => {
      const { radio, device } = await startRadio();
      radio.broadcast(ADVERTISE);
      await vi.waitFor(() => expect(device.recording).toEqual(TX_BROADCAST_ADVERTISE_API2), WAIT);

      const one = await startRadio({ apiMode: 1, path: '/dev/ttyXBEE1' });
      one.radio.broadcast(ADVERTISE);
      await vi.waitFor(() => expect(one.device.recording).toEqual(hex('7E 0013 10 00 000000000000FFFF FFFE 00 00 05 00 01 03 84 67')), WAIT);
    });

    it('a 0x8B Transmit Status with a delivery failure is reported via deliveryFailed and one log line', async () => {
      const { radio, sink, device } = await startRadio();
      radio.send(NODE, CONNACK); // frame id 1
      radio.send(NODE, PINGRESP); // frame id 2
      await vi.waitFor(() => expect(device.recording.length).toBeGreaterThan(0), WAIT);
      // id 1: network ACK failure (0x21); id 2: success.
      device.emitData(encodeApiFrame(hex('8B 01 FFFE 03 21 00'), 2));
      device.emitData(encodeApiFrame(hex('8B 02 1234 00 00 00'), 2));
      await vi.waitFor(() => expect(sink.failures).toHaveLength(1), WAIT);
      expect(sink.failures[0].address).toBe(NODE);
      expect(sink.failures[0].reason).toContain('network ACK failure');
      expect(sink.logs.filter((l) => l.message.includes('not delivered'))).toHaveLength(1);
      expect(radio.stats.deliveryFailures).toBe(1);
    });

    it('no Transmit Status in time counts as not delivered', async () => {
      const { sink, radio } = await startRadio({}, { txStatusTimeoutMs: 20 });
      radio.send(NODE, CONNACK);
      await vi.waitFor(() => expect(sink.failures).toHaveLength(1), WAIT);
      expect(sink.failures[0]).toEqual({ address: NODE, reason: 'no transmit status within 20 ms' });
    });

    it('802.15.4 module: after an RX64 it sends 0x00 TX64; xbee16 peers get 0x01 TX16; 0x89 failures reported', async () => {
      const { radio, sink, device } = await startRadio({ apiMode: 1 });
      device.emitData(encodeApiFrame(Buffer.concat([hex('80 0013A20040A1B2C3 28 00'), PINGREQ]), 1));
      await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
      radio.send(NODE, PINGRESP);
      radio.send('xbee16:beef', PINGRESP);
      const tx64 = encodeApiFrame(hex('00 01 0013A20040A1B2C3 00 0217'), 1);
      const tx16 = encodeApiFrame(hex('01 02 BEEF 00 0217'), 1);
      await vi.waitFor(() => expect(device.recording).toEqual(Buffer.concat([tx64, tx16])), WAIT);
      device.emitData(encodeApiFrame(hex('89 02 01'), 1)); // no ACK
      await vi.waitFor(() => expect(sink.failures).toEqual([{ address: 'xbee16:beef', reason: 'no ACK received (0x01)' }]), WAIT);
    });

    it('refuses a frame above maxFrameSize with one log line', async () => {
      const { radio, sink, device } = await startRadio({ maxFrameSize: 84 });
      const big = Buffer.concat([hex('55 0C 00 0001 0000'), Buffer.alloc(78, 0x61)]); // 85-octet PUBLISH
      radio.send(NODE, big);
      radio.broadcast(big);
      radio.send(NODE, PINGRESP);
      await vi.waitFor(() => expect(device.recording.length).toBeGreaterThan(0), WAIT);
      expect(sink.logs.filter((l) => l.message.includes('refusing to send a 85-byte frame'))).toHaveLength(2);
      expect(radio.stats.framesRefused).toBe(2);
      expect(radio.stats.framesOut).toBe(1);
    });

    it('rejects an address that is not an XBee address with a log line', async () => {
      const { radio, sink } = await startRadio();
      radio.send('udp:127.0.0.1:10000', PINGRESP);
      expect(sink.logs.filter((l) => l.message.includes('not an xbee: or xbee16: address'))).toHaveLength(1);
      expect(radio.stats.framesOut).toBe(0);
    });
  });

  it('a missing port logs one line naming path and error, retries, and comes up once the device appears', async () => {
    const mock = recordingBinding();
    const radio = new XBeeRadio(config({ path: '/dev/ttyXBEE_LATE' }), { binding: mock.binding, backoff: { initialMs: 10, maxMs: 20 } });
    radios.push(radio);
    const sink = new RecordingSink();
    await radio.start(sink);
    const failures = sink.logs.filter((l) => l.message.includes('cannot open /dev/ttyXBEE_LATE'));
    expect(failures).toHaveLength(1);
    expect(failures[0].message).toContain('Port does not exist');
    radio.send(NODE, PINGRESP);
    expect(sink.failures).toEqual([{ address: NODE, reason: 'serial port not open' }]);
    MockBinding.createPort('/dev/ttyXBEE_LATE', { echo: false, record: true });
    await vi.waitFor(() => expect(radio.stats.opens).toBe(1), WAIT);
    mock.device().emitData(RX_CONNECT_API2);
    await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
  });
});
