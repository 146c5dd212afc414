/** One-line logs for the daemon, filtered by level; the core emits events, this prints them. */
import type { LogLevel } from '../radios/radio.js';

const rank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export type LogFormat = 'text' | 'json';

export interface Logger {
  log(level: LogLevel, message: string): void;
  /** Changes the level while running (a configuration reload); absent when the level is fixed (`-v`). */
  setLevel?(level: LogLevel): void;
  /** Changes the line format while running (a configuration reload). */
  setFormat?(format: LogFormat): void;
}

/**
 * `text`: `2026-01-01T00:00:00.000Z INFO  message`. `json`: `{"time":"…","level":"info","msg":"…"}`, one
 * object per line, so journald, Loki or jq read it without a parser of their own.
 */
export function consoleLogger(
  level: LogLevel,
  write: (line: string) => void = (l) => process.stderr.write(l + '\n'),
  format: LogFormat = 'text',
): Logger {
  let max = rank[level];
  return {
    log(l, message) {
      if (rank[l] > max) return;
      const time = new Date().toISOString();
      write(format === 'json' ? JSON.stringify({ time, level: l, msg: message }) : `${time} ${l.toUpperCase().padEnd(5)} ${message}`);
    },
    setLevel(next) {
      max = rank[next];
    },
    setFormat(next) {
      format = next;
    },
  };
}
