/**
 * End to end on a real pseudo-terminal pair made by socat, with serialport's native binding:
 * the radio opens one end, the test plays the device on the other.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SerialRadioConfig } from '../../radios/serial.js';
import type { LogLevel, Radio, RadioSink } from '../../radios/radio.js';
import { SerialRadio } from '../../radios/serial.js';
import { WAIT } from '../support/wait.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** §5.4.4 CONNECT: clean session, duration 60 s, ClientId "testcli" (6 + 7 = 13 octets). */
const CONNECT = Buffer.from([0x0d, 0x04, 0x04, 0x01, 0x00, 0x3c, ...Buffer.from('testcli')]);
/** §5.4.12 PUBLISH QoS 0, topic id 1, payload C0 DB 41 (SLIP END and ESC as data). */
const PUBLISH_WITH_SLIP_BYTES = hex('0A 0C 00 0001 0000 C0 DB 41');
/** §5.4.5 CONNACK accepted. */
const CONNACK = hex('03 05 00');

class RecordingSink implements RadioSink {
  readonly frames: Buffer[] = [];
  readonly logs: { level: LogLevel; message: string }[] = [];
  frame(_radio: Radio, _address: string, frame: Buffer): void {
    this.frames.push(Buffer.from(frame));
  }
  log(level: LogLevel, message: string): void {
    this.logs.push({ level, message });
  }
}

/** The device end: a real serial port collecting what the radio writes. */
class Peer {
  received = Buffer.alloc(0);
  constructor(readonly port: SerialPort) {
    port.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
    });
    port.on('error', () => {});
  }
  static async open(path: string): Promise<Peer> {
    const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    return new Peer(port);
  }
  write(bytes: Buffer): void {
    this.port.write(bytes);
  }
  close(): Promise<void> {
    return new Promise((resolve) => (this.port.isOpen ? this.port.close(() => resolve()) : resolve()));
  }
}

describe('SerialRadio on a socat pty pair (native serialport binding)', () => {
  let dir: string;
  let socat: ChildProcess | undefined;
  let radio: SerialRadio | undefined;
  let peer: Peer | undefined;
  const radioEnd = () => join(dir, 'a');
  const deviceEnd = () => join(dir, 'b');

  async function startSocat(): Promise<void> {
    socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${radioEnd()}`, `pty,raw,echo=0,link=${deviceEnd()}`], {
      stdio: 'ignore',
    });
    await vi.waitFor(() => expect(existsSync(radioEnd()) && existsSync(deviceEnd())).toBe(true), WAIT);
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mqttsn-pty-'));
    await startSocat();
  });

  afterEach(async () => {
    await radio?.stop();
    await peer?.close();
    radio = undefined;
    peer = undefined;
    if (socat && socat.exitCode === null) {
      const exited = new Promise((resolve) => socat!.once('exit', resolve));
      socat.kill('SIGTERM');
      await exited;
    }
    socat = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(framing: SerialRadioConfig['framing']): Promise<{ radio: SerialRadio; sink: RecordingSink; peer: Peer }> {
    radio = new SerialRadio(
      { type: 'serial', name: 'serial0', path: radioEnd(), baudRate: 115200, framing, interByteGapMs: 100, maxFrameSize: 255 },
      { backoff: { initialMs: 50, maxMs: 200 } }, // no binding: serialport's native one
    );
    const sink = new RecordingSink();
    await radio.start(sink);
    expect(sink.logs.some((l) => l.message.includes(`opened ${radioEnd()}`))).toBe(true);
    peer = await Peer.open(deviceEnd());
    return { radio, sink, peer };
  }

  it('slip: frames written by the device arrive whole; send() arrives SLIP-encoded', async () => {
    const { radio, sink, peer } = await start('slip');
    peer.write(hex('C0 0D 04 04 01 00 3C 74 65 73 74 63 6C 69 C0 0A 0C 00 0001 0000 DBDC DBDD 41 C0'));
    await vi.waitFor(() => expect(sink.frames).toEqual([CONNECT, PUBLISH_WITH_SLIP_BYTES]), WAIT);

    radio.send(radio.address, CONNACK);
    radio.send(radio.address, PUBLISH_WITH_SLIP_BYTES);
    await vi.waitFor(() => expect(peer.received).toEqual(hex('03 05 00 C0 0A 0C 00 0001 0000 DBDC DBDD 41 C0')), WAIT);
  });

  it('raw: frames back to back arrive split by their Length; send() arrives bare', async () => {
    const { radio, sink, peer } = await start('raw');
    peer.write(Buffer.concat([CONNECT, PUBLISH_WITH_SLIP_BYTES]));
    await vi.waitFor(() => expect(sink.frames).toEqual([CONNECT, PUBLISH_WITH_SLIP_BYTES]), WAIT);

    radio.send(radio.address, CONNACK);
    await vi.waitFor(() => expect(peer.received).toEqual(CONNACK), WAIT);
  });

  it('a device node that disappears while the line is quiet (unplugged) is noticed by its path: one close line, then retries', async () => {
    const { radio, sink } = await start('slip');
    // The pty itself lives on (socat still runs): only the path is gone, so no read error will ever come.
    rmSync(radioEnd());
    await vi.waitFor(() => expect(sink.logs.filter((l) => l.message.includes(`${radioEnd()} is gone (unplugged?)`))).toHaveLength(1), WAIT);
    await vi.waitFor(() => expect(sink.logs.some((l) => l.message.includes(`cannot open ${radioEnd()}`))).toBe(true), WAIT);
    expect(radio.stats.opens).toBe(1);
  });

  it('the device vanishing (socat killed) logs one close line; the radio retries and comes back with the device', async () => {
    const { radio, sink } = await start('slip');
    const exited = new Promise((resolve) => socat!.once('exit', resolve));
    socat!.kill('SIGTERM');
    await exited;
    await vi.waitFor(() => expect(sink.logs.filter((l) => l.message.includes(`${radioEnd()} closed`))).toHaveLength(1), WAIT);
    // Sending while it is gone is dropped with one line, not thrown.
    radio.send(radio.address, CONNACK);
    radio.send(radio.address, CONNACK);
    expect(sink.logs.filter((l) => l.message.includes('is not open'))).toHaveLength(1);
    await vi.waitFor(() => expect(sink.logs.some((l) => l.message.includes(`cannot open ${radioEnd()}`))).toBe(true), WAIT);

    await startSocat(); // plugged back in
    await vi.waitFor(() => expect(radio.stats.opens).toBe(2), WAIT);
    const again = await Peer.open(deviceEnd());
    await peer!.close();
    peer = again;
    again.write(Buffer.concat([CONNECT, hex('C0')]));
    await vi.waitFor(() => expect(sink.frames).toEqual([CONNECT]), WAIT);
  });
});
