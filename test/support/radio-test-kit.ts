/** What the radio unit tests share: a sink that records what a radio reports, and a MockBinding that remembers its ports. */
import { SerialPortMock } from 'serialport';
import type { LogLevel, Radio, RadioSink } from '../../radios/radio.js';

// serialport's MockBinding (the CommonJS build of @serialport/binding-mock, the one SerialPortMock uses).
export const MockBinding = SerialPortMock.binding;
export type MockPort = Awaited<ReturnType<typeof MockBinding.open>>;

export class RecordingSink implements RadioSink {
  readonly frames: { address: string; frame: Buffer }[] = [];
  readonly logs: { level: LogLevel; message: string }[] = [];
  readonly failures: { address: string; reason: string }[] = [];
  frame(_radio: Radio, address: string, frame: Buffer): void {
    this.frames.push({ address, frame: Buffer.from(frame) });
  }
  log(level: LogLevel, message: string): void {
    this.logs.push({ level, message });
  }
  deliveryFailed(_radio: Radio, address: string, reason: string): void {
    this.failures.push({ address, reason });
  }
}

/**
 * MockBinding that remembers the ports it opened, so a test can play the device on the one the radio
 * holds (`emitData`) and read what the radio wrote (`recording`). This is how a test injects the binding.
 */
export function recordingBinding() {
  const opened: MockPort[] = [];
  const binding: typeof MockBinding = {
    ...MockBinding,
    async open(options) {
      const port = await MockBinding.open(options);
      opened.push(port);
      return port;
    },
  };
  /** The port most recently opened (the radio's current one). */
  const device = (): MockPort => {
    const port = opened.at(-1);
    if (!port) throw new Error('port not open');
    return port;
  };
  return { binding, device };
}
