/** One-line logs for the daemon, filtered by level; the core emits events, this prints them. */
import type { LogLevel } from '../radios/radio.js';

const rank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  log(level: LogLevel, message: string): void;
  /** Changes the level while running (a configuration reload); absent when the level is fixed (`-v`). */
  setLevel?(level: LogLevel): void;
}

export function consoleLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  let max = rank[level];
  return {
    log(l, message) {
      if (rank[l] <= max) write(`${new Date().toISOString()} ${l.toUpperCase().padEnd(5)} ${message}`);
    },
    setLevel(next) {
      max = rank[next];
    },
  };
}
