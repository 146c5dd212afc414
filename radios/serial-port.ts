/**
 * A serial port that keeps itself open: opened at start, reopened with backoff when it is missing,
 * not permitted or unplugged, closed at stop. One log line per failure, naming the path and the error.
 * Shared by the serial and XBee radios; the binding is injectable so tests run on MockBinding.
 */
import { existsSync } from 'node:fs';
import { SerialPortStream, type OpenOptions } from '@serialport/stream';
import { Backoff, type BackoffOptions } from '../common/backoff.js';
import type { LogLevel } from './radio.js';

/** serialport's hardware access interface (native, or MockBinding in tests). */
export type SerialBinding = OpenOptions['binding'];

export interface SerialLinkOptions {
  /** Radio name, first word of every log line. */
  name: string;
  path: string;
  baudRate: number;
  /** Hardware access; defaults to serialport's native binding. Tests pass MockBinding. */
  binding?: SerialBinding;
  backoff?: BackoffOptions;
  /** How often an open port's device path is checked for having vanished (ms); default 1000. */
  presenceCheckMs?: number;
}

export interface SerialLinkEvents {
  data(chunk: Buffer): void;
  /** The port (re)opened: framers drop half-read state. */
  opened(): void;
  closed(): void;
  log(level: LogLevel, message: string): void;
}

/** serialport's native binding, loaded only when a real port is opened. */
async function nativeBinding(): Promise<SerialBinding> {
  const { SerialPort } = await import('serialport');
  return SerialPort.binding as SerialBinding;
}

export class SerialLink {
  private port: SerialPortStream | undefined;
  private readonly backoff: Backoff;
  private stopped = true;
  /** The last failure logged, so a device missing for hours logs its reason once at warn level. */
  private lastFailure = '';
  private presenceTimer: NodeJS.Timeout | undefined;
  /** Set when the presence check closed the port, for the one close line. */
  private vanished = false;

  constructor(
    private readonly options: SerialLinkOptions,
    private readonly events: SerialLinkEvents,
  ) {
    this.backoff = new Backoff(options.backoff);
  }

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  /** Resolves after the first attempt to open, whether it worked or a retry is scheduled. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.open();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.backoff.cancel();
    this.stopWatchingPresence();
    const port = this.port;
    this.port = undefined;
    if (!port) return;
    port.removeAllListeners('data');
    port.removeAllListeners('close');
    if (port.isOpen) {
      await new Promise<void>((resolve) => port.close(() => resolve()));
    }
    port.removeAllListeners();
    // Late errors from a closing port must not crash the process.
    port.on('error', () => {});
  }

  /** Writes bytes if the port is open; false (nothing written) when it is not. */
  write(bytes: Buffer): boolean {
    const port = this.port;
    if (!port?.isOpen) return false;
    port.write(bytes);
    return true;
  }

  /**
   * A device that goes away takes its node with it, but the port may not notice: on a pty whose other end
   * closed, or a USB CDC device pulled mid-read, the binding can wait for a readable event that never comes.
   * So while open, check that the path still exists; when it is gone, close the port (one line, then retries).
   */
  private watchPresence(port: SerialPortStream): void {
    const { path } = this.options;
    // Only a path that is there now can vanish (MockBinding's made-up paths never were).
    if (!existsSync(path)) return;
    this.stopWatchingPresence();
    this.presenceTimer = setInterval(() => {
      if (this.port !== port) return this.stopWatchingPresence();
      if (existsSync(path)) return;
      this.stopWatchingPresence();
      this.vanished = true;
      if (port.isOpen) port.close();
    }, this.options.presenceCheckMs ?? 1000);
    this.presenceTimer.unref();
  }

  private stopWatchingPresence(): void {
    clearInterval(this.presenceTimer);
    this.presenceTimer = undefined;
  }

  private async open(): Promise<void> {
    const { name, path, baudRate } = this.options;
    let binding: SerialBinding;
    try {
      binding = this.options.binding ?? (await nativeBinding());
    } catch (err) {
      this.failed(`cannot load the serial port driver for ${path}: ${messageOf(err)}`);
      return;
    }
    if (this.stopped) return;
    let port: SerialPortStream;
    try {
      port = new SerialPortStream({ binding, path, baudRate, autoOpen: false });
    } catch (err) {
      // Bad options (e.g. an unsupported baud rate) throw here; retrying shows the line again later.
      this.failed(`cannot open ${path}: ${messageOf(err)}`);
      return;
    }
    // Without an 'error' listener a stream error would crash the process. A failed write also closes
    // the port; its error is kept for the one line the close logs.
    let lastError: Error | undefined;
    port.on('error', (err: Error) => {
      lastError = err;
      this.events.log('debug', `${name}: ${path}: ${err.message}`);
    });
    const error = await new Promise<Error | null>((resolve) => port.open(resolve));
    if (error) {
      port.removeAllListeners();
      port.on('error', () => {});
      if (!this.stopped) this.failed(`cannot open ${path}: ${error.message}`);
      return;
    }
    if (this.stopped) {
      port.close();
      return;
    }
    this.port = port;
    this.backoff.reset();
    this.lastFailure = '';
    this.events.log('info', `${name}: opened ${path} at ${baudRate} baud`);
    this.events.opened();
    port.on('data', (chunk: Buffer) => this.events.data(chunk));
    // The device went away mid-stream: the binding ends the stream and closes the port.
    port.on('end', () => {
      if (port.isOpen) port.close();
    });
    this.watchPresence(port);
    port.on('close', (err: Error | null) => {
      if (this.port !== port) return;
      this.stopWatchingPresence();
      this.port = undefined;
      port.removeAllListeners('data');
      this.events.closed();
      const reason = this.vanished ? `${path} is gone (unplugged?)` : err?.message ?? lastError?.message ?? 'end of stream';
      this.vanished = false;
      if (!this.stopped) this.failed(`${path} closed: ${reason}`);
    });
  }

  /** One log line for this failure, then a retry after the next backoff delay. */
  private failed(reason: string): void {
    const delay = this.backoff.schedule(() => void this.open());
    const level: LogLevel = reason === this.lastFailure ? 'debug' : 'warn';
    this.lastFailure = reason;
    this.events.log(level, `${this.options.name}: ${reason}; retrying in ${formatDelay(delay)}`);
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`;
}
