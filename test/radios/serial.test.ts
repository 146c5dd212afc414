import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SerialRadioConfig } from '../../radios/serial.js';
import { MockBinding, RecordingSink, recordingBinding } from '../support/radio-test-kit.js';
import { RawFramer } from '../../radios/raw-framing.js';
import { SerialRadio } from '../../radios/serial.js';
import { WAIT } from '../support/wait.js';


const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

// Real MQTT-SN 1.2 frames.
/** §5.4.4 CONNECT: clean session, duration 60 s, ClientId "testcli" (6 + 7 = 13 octets). */
const CONNECT = Buffer.from([0x0d, 0x04, 0x04, 0x01, 0x00, 0x3c, ...Buffer.from('testcli')]);
/** §5.4.19 PINGREQ without ClientId. */
const PINGREQ = hex('02 16');
/** §5.4.12 PUBLISH QoS 0, topic id 1, msg id 0, payload C0 DB 41: the SLIP END and ESC bytes inside a frame. */
const PUBLISH_WITH_SLIP_BYTES = hex('0A 0C 00 0001 0000 C0 DB 41');
/** §5.2.1 long Length form: PUBLISH of 300 octets (0x01 0x012C, then 297 more). */
const LONG_PUBLISH = Buffer.concat([hex('01 012C 0C 00 0001 0000'), Buffer.alloc(291, 0x61)]);


function config(overrides: Partial<SerialRadioConfig> = {}): SerialRadioConfig {
  return {
    type: 'serial',
    name: 'serial0',
    path: '/dev/ttyMOCK0',
    baudRate: 115200,
    framing: 'slip',
    interByteGapMs: 100,
    maxFrameSize: 512,
    ...overrides,
  };
}


describe('RawFramer (pure)', () => {
  const framer = (maxFrameSize = 512) => new RawFramer({ maxFrameSize, interByteGapMs: 100 });

  it('§5.2.1 splits frames back to back by their Length field', () => {
    const result = framer().push(Buffer.concat([CONNECT, PINGREQ, PUBLISH_WITH_SLIP_BYTES]), 0);
    expect(result.frames).toEqual([CONNECT, PINGREQ, PUBLISH_WITH_SLIP_BYTES]);
    expect(result.discarded).toEqual([]);
  });

  it('§5.2.1 reassembles a frame delivered byte by byte', () => {
    const f = framer();
    const frames: Buffer[] = [];
    CONNECT.forEach((byte, i) => frames.push(...f.push(Buffer.of(byte), i).frames));
    expect(frames).toEqual([CONNECT]);
    expect(f.hasPending).toBe(false);
  });

  it('§5.2.1 long form: 0x01 then a uint16 length, even split inside the length', () => {
    const f = framer();
    expect(f.push(LONG_PUBLISH.subarray(0, 2), 0).frames).toEqual([]);
    expect(f.push(Buffer.concat([LONG_PUBLISH.subarray(2), PINGREQ]), 1).frames).toEqual([LONG_PUBLISH, PINGREQ]);
  });

  it('a Length octet of 0x00 is dropped and the next byte read as a Length', () => {
    const result = framer().push(Buffer.concat([hex('00 00'), PINGREQ]), 0);
    expect(result.discarded).toEqual([{ reason: 'invalid-length', bytes: 2 }]);
    expect(result.frames).toEqual([PINGREQ]);
  });

  it('a long form too short to hold its own header is dropped', () => {
    const result = framer().push(Buffer.concat([hex('01 0002'), PINGREQ]), 0);
    expect(result.discarded).toEqual([{ reason: 'invalid-length', bytes: 3 }]);
    expect(result.frames).toEqual([PINGREQ]);
  });

  it('a frame above maxFrameSize is skipped whole; the next one is read', () => {
    const result = framer(64).push(Buffer.concat([LONG_PUBLISH, CONNECT]), 0);
    expect(result.discarded).toEqual([{ reason: 'too-large', bytes: 300 }]);
    expect(result.frames).toEqual([CONNECT]);
  });

  it('an inter-byte gap discards a partial frame and resynchronises', () => {
    const f = framer();
    // Line noise 0x40 reads as a 64-octet frame that never completes...
    expect(f.push(Buffer.concat([hex('40'), CONNECT]), 0).frames).toEqual([]);
    expect(f.checkGap(99)).toBeUndefined();
    // ...until the line is quiet for the gap; then the next byte starts a frame again.
    const result = f.push(PINGREQ, 100);
    expect(result.discarded).toEqual([{ reason: 'gap', bytes: 1 + CONNECT.length }]);
    expect(result.frames).toEqual([PINGREQ]);
  });

  it('checkGap reports a stale partial frame on its own', () => {
    const f = framer();
    f.push(CONNECT.subarray(0, 4), 1000);
    expect(f.checkGap(1050)).toBeUndefined();
    expect(f.checkGap(1100)).toEqual({ reason: 'gap', bytes: 4 });
    expect(f.hasPending).toBe(false);
  });
});

describe('SerialRadio over MockBinding', () => {
  const radios: SerialRadio[] = [];

  async function startRadio(overrides: Partial<SerialRadioConfig> = {}, maxReadSize?: number) {
    const cfg = config(overrides);
    // maxReadSize must be left out, not undefined: MockBinding would then re-read the same bytes forever.
    MockBinding.createPort(cfg.path, { echo: false, record: true, ...(maxReadSize ? { maxReadSize } : {}) });
    const mock = recordingBinding();
    const radio = new SerialRadio(cfg, { binding: mock.binding, backoff: { initialMs: 10, maxMs: 50 } });
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

  it('names its one peer serial:<path>', async () => {
    const { radio } = await startRadio();
    expect(radio.address).toBe('serial:/dev/ttyMOCK0');
    expect(radio.kind).toBe('serial');
    expect(radio.maxFrameSize).toBe(512);
  });

  describe('slip framing', () => {
    it('delivers a SLIP frame split across one-byte reads', async () => {
      const { radio, sink, device } = await startRadio({}, 1);
      device.emitData(Buffer.concat([CONNECT, hex('C0')]));
      await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
      expect(sink.frames[0]).toEqual({ address: 'serial:/dev/ttyMOCK0', frame: CONNECT });
      expect(radio.stats.framesIn).toBe(1);
    });

    it('delivers several SLIP frames from one read and ignores empty ones (leading/doubled END)', async () => {
      const { sink, device } = await startRadio();
      device.emitData(Buffer.concat([hex('C0'), CONNECT, hex('C0 C0'), PINGREQ, hex('C0')]));
      await vi.waitFor(() => expect(sink.frames).toHaveLength(2), WAIT);
      expect(sink.frames.map((r) => r.frame)).toEqual([CONNECT, PINGREQ]);
    });

    it('unescapes END (DB DC) and ESC (DB DD) inside a frame', async () => {
      const { sink, device } = await startRadio();
      device.emitData(hex('0A 0C 00 0001 0000 DBDC DBDD 41 C0'));
      await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
      expect(sink.frames[0].frame).toEqual(PUBLISH_WITH_SLIP_BYTES);
    });

    it('send() writes one SLIP packet with END and ESC escaped', async () => {
      const { radio, device } = await startRadio();
      radio.send(radio.address, PUBLISH_WITH_SLIP_BYTES);
      await vi.waitFor(() => expect(device.recording).toEqual(hex('0A 0C 00 0001 0000 DBDC DBDD 41 C0')), WAIT);
      expect(radio.stats.framesOut).toBe(1);
    });

    it('broadcast() writes to the line too', async () => {
      const { radio, device } = await startRadio();
      radio.broadcast(hex('05 00 01 0384')); // §5.4.1 ADVERTISE, GwId 1, duration 900 s
      await vi.waitFor(() => expect(device.recording).toEqual(hex('05 00 01 0384 C0')), WAIT);
    });

    it('drops a received frame above maxFrameSize with a log line', async () => {
      const { radio, sink, device } = await startRadio({ maxFrameSize: 8 });
      device.emitData(Buffer.concat([CONNECT, hex('C0'), PINGREQ, hex('C0')]));
      await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
      expect(sink.frames[0].frame).toEqual(PINGREQ);
      expect(radio.stats.badFrames).toBe(1);
      expect(sink.logs.filter((l) => l.message.includes('larger than maxFrameSize 8'))).toHaveLength(1);
    });

    it('a packet that outgrows maxFrameSize before its END is dropped up to that END', async () => {
      const { radio, sink, device } = await startRadio({ maxFrameSize: 8 }, 4);
      // Noise with no END in it (say, a wrong baud rate), then END, then a good frame.
      device.emitData(Buffer.concat([CONNECT, CONNECT, hex('C0'), PINGREQ, hex('C0')]));
      await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
      expect(sink.frames[0].frame).toEqual(PINGREQ);
      expect(radio.stats.badFrames).toBe(1);
      // Dropped once 12 bytes (three 4-byte reads) were pending, not after buffering all 26.
      expect(sink.logs.filter((l) => l.message.includes('discarded a frame of at least 12 bytes'))).toHaveLength(1);
    });
  });

  describe('raw framing', () => {
    it('§5.2.1 delivers raw frames split byte by byte and concatenated', async () => {
      const { sink, device } = await startRadio({ framing: 'raw' }, 1);
      device.emitData(Buffer.concat([CONNECT, PINGREQ, PUBLISH_WITH_SLIP_BYTES]));
      await vi.waitFor(() => expect(sink.frames).toHaveLength(3), WAIT);
      expect(sink.frames.map((r) => r.frame)).toEqual([CONNECT, PINGREQ, PUBLISH_WITH_SLIP_BYTES]);
    });

    it('§5.2.1 delivers a long-form frame', async () => {
      const { sink, device } = await startRadio({ framing: 'raw' });
      device.emitData(Buffer.concat([LONG_PUBLISH, PINGREQ]));
      await vi.waitFor(() => expect(sink.frames).toHaveLength(2), WAIT);
      expect(sink.frames[0].frame).toEqual(LONG_PUBLISH);
    });

    it('loses sync on garbage, then recovers after the inter-byte gap', async () => {
      const { radio, sink, device } = await startRadio({ framing: 'raw', interByteGapMs: 30 });
      // 0x7F reads as the Length of a 127-octet frame: the CONNECT after it is swallowed...
      device.emitData(Buffer.concat([hex('7F'), CONNECT]));
      // ...until the line has been quiet for the gap; the radio's timer then drops the partial frame.
      const gapLine = () => sink.logs.filter((l) => l.message.includes('partial frame of 14 byte(s) after a 30 ms gap'));
      await vi.waitFor(() => expect(gapLine()).toHaveLength(1), WAIT);
      expect(gapLine()[0].level).toBe('warn');
      expect(radio.stats.badFrames).toBe(1);
      expect(sink.frames).toEqual([]);
      device.emitData(CONNECT);
      await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
      expect(sink.frames[0].frame).toEqual(CONNECT);
    });

    it('a gap timer that fires early (event-loop lag) waits out the rest of the gap, then drops the partial frame', async () => {
      const cfg = config({ framing: 'raw', interByteGapMs: 30 });
      MockBinding.createPort(cfg.path, { echo: false, record: true });
      const mock = recordingBinding();
      // The radio's clock, scripted: the bytes at 1000 ms; the timer then fires when only 10 ms have passed
      // (a loop lagging by 20 ms starts its timers that much early); every later look says 1040 ms.
      const times = [1000, 1010];
      const radio = new SerialRadio(cfg, { binding: mock.binding, backoff: { initialMs: 10, maxMs: 50 }, now: () => times.shift() ?? 1040 });
      radios.push(radio);
      const sink = new RecordingSink();
      await radio.start(sink);
      mock.device().emitData(Buffer.concat([hex('7F'), CONNECT]));
      await vi.waitFor(() => expect(sink.logs.filter((l) => l.message.includes('partial frame of 14 byte(s)'))).toHaveLength(1), WAIT);
      expect(times).toEqual([]); // the early firing did happen
      expect(radio.stats.badFrames).toBe(1);
    });

    it('send() writes the bare frame', async () => {
      const { radio, device } = await startRadio({ framing: 'raw' });
      radio.send(radio.address, CONNECT);
      radio.send(radio.address, PINGREQ);
      await vi.waitFor(() => expect(device.recording).toEqual(Buffer.concat([CONNECT, PINGREQ])), WAIT);
    });
  });

  it('refuses to send a frame above maxFrameSize with one log line', async () => {
    const { radio, sink, device } = await startRadio({ framing: 'raw', maxFrameSize: 64 });
    radio.send(radio.address, LONG_PUBLISH);
    radio.send(radio.address, PINGREQ);
    await vi.waitFor(() => expect(device.recording).toEqual(PINGREQ), WAIT);
    const refusals = sink.logs.filter((l) => l.message.includes('refusing'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatchObject({ level: 'warn' });
    expect(refusals[0].message).toContain('300-byte');
    expect(radio.stats.framesRefused).toBe(1);
  });

  it('a missing port logs one line naming path and error, keeps retrying, and comes up once the device appears', async () => {
    const cfg = config({ path: '/dev/ttyLATE' });
    const mock = recordingBinding();
    const radio = new SerialRadio(cfg, { binding: mock.binding, backoff: { initialMs: 10, maxMs: 20 } });
    radios.push(radio);
    const sink = new RecordingSink();
    await radio.start(sink); // resolves although the device is missing
    const failures = () => sink.logs.filter((l) => l.message.includes('cannot open /dev/ttyLATE'));
    expect(failures()).toHaveLength(1);
    expect(failures()[0].level).toBe('warn');
    expect(failures()[0].message).toContain('Port does not exist');
    await vi.waitFor(() => expect(failures().length).toBeGreaterThanOrEqual(2), WAIT);
    // The same failure again is not news: it is logged at debug level.
    expect(failures()[1].level).toBe('debug');

    radio.send(radio.address, PINGREQ);
    expect(radio.stats.framesDropped).toBe(1);

    MockBinding.createPort('/dev/ttyLATE', { echo: false, record: true });
    await vi.waitFor(() => expect(radio.stats.opens).toBe(1), WAIT);
    expect(sink.logs.some((l) => l.level === 'info' && l.message.includes('opened /dev/ttyLATE'))).toBe(true);
    mock.device().emitData(Buffer.concat([PINGREQ, hex('C0')]));
    await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
  });

  it('an unplugged device (read error) logs one line and reopens', async () => {
    const { radio, sink, device, mock } = await startRadio();
    const internal = device as unknown as { read: (...args: unknown[]) => Promise<unknown> };
    // The next read fails the way the native binding does when the USB device goes away.
    internal.read = () => Promise.reject(new Error('EIO: i/o error, read'));
    device.emitData(hex('C0')); // wakes the reader
    await vi.waitFor(() => expect(sink.logs.some((l) => l.message.includes('/dev/ttyMOCK0 closed: EIO'))).toBe(true), WAIT);
    await vi.waitFor(() => expect(radio.stats.opens).toBe(2), WAIT);
    mock.device().emitData(Buffer.concat([CONNECT, hex('C0')]));
    await vi.waitFor(() => expect(sink.frames).toHaveLength(1), WAIT);
  });

  it('a write failing on an unplugged device logs one line with its error and reopens', async () => {
    const { radio, sink, device, mock } = await startRadio({ framing: 'raw' });
    const internal = device as unknown as { write: (bytes: Buffer) => Promise<void> };
    internal.write = () => Promise.reject(new Error('EIO: i/o error, write'));
    radio.send(radio.address, PINGREQ);
    await vi.waitFor(() => expect(radio.stats.opens).toBe(2), WAIT);
    const warnings = sink.logs.filter((l) => l.level === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toMatch(/\/dev\/ttyMOCK0 closed: EIO: i\/o error, write; retrying in/);
    radio.send(radio.address, PINGREQ);
    await vi.waitFor(() => expect(mock.device().recording).toEqual(PINGREQ), WAIT);
  });

  it('stop() closes the open port; frames sent after it are dropped, not written', async () => {
    const { radio, device } = await startRadio({ framing: 'raw' });
    expect(device.isOpen).toBe(true);
    await radio.stop();
    expect(device.isOpen).toBe(false);
    radio.send(radio.address, PINGREQ);
    expect(radio.stats.framesDropped).toBe(1);
    expect(device.recording).toEqual(Buffer.alloc(0));
  });

  it('stop() ends the retries of a port that never opened', async () => {
    const backoff = { initialMs: 5, maxMs: 5 };
    const attempts: string[] = [];
    const counting: typeof MockBinding = { ...MockBinding, open: (options) => { attempts.push(options.path); return MockBinding.open(options); } };
    const stopped = new SerialRadio(config({ path: '/dev/ttyNEVER' }), { binding: counting, backoff });
    await stopped.start(new RecordingSink());
    expect(attempts).toEqual(['/dev/ttyNEVER']);
    await stopped.stop();
    MockBinding.createPort('/dev/ttyNEVER', { echo: false, record: true });
    // A second radio, started later with the same backoff, retries after the first one would have:
    // once it has opened its port, a live retry of the stopped radio would have opened /dev/ttyNEVER.
    const later = new SerialRadio(config({ path: '/dev/ttyLATER' }), { binding: MockBinding, backoff });
    radios.push(later);
    await later.start(new RecordingSink());
    MockBinding.createPort('/dev/ttyLATER', { echo: false, record: true });
    await vi.waitFor(() => expect(later.stats.opens).toBe(1), WAIT);
    expect(attempts).toEqual(['/dev/ttyNEVER']); // no attempt after stop()
    expect(stopped.stats.opens).toBe(0);
  });
});
