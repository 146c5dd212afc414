/**
 * The gateway process's handle on the load generator child (bench/lib/load-generator.ts): forks it
 * under the same TypeScript loader, sends one Command at a time, and resolves with its Result.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command, Reply, Result } from './protocol.js';

export class LoadGenerator {
  private constructor(private readonly child: ChildProcess) {}

  static start(): LoadGenerator {
    const entry = fileURLToPath(new URL('./load-generator.ts', import.meta.url));
    // Same loader (tsx) as this process, but not --cpu-prof and the like, nor V8 heap sizing: only the gateway is profiled and tuned.
    const execArgv = process.execArgv.filter((arg) => !arg.startsWith('--cpu-prof') && !arg.startsWith('--heap-prof') && !arg.startsWith('--prof') && !/^--(max|min)-semi-space-size/.test(arg));
    return new LoadGenerator(fork(entry, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }

  /** Runs one command; `onWindow` is called when the load generator starts and ends its measuring window. */
  run<R extends Result = Result>(command: Command, onWindow?: (phase: 'start' | 'end') => void): Promise<R> {
    return new Promise((resolve, reject) => {
      const onMessage = (reply: Reply): void => {
        if (reply.kind === 'window') {
          onWindow?.(reply.phase);
          return;
        }
        cleanup();
        if (reply.kind === 'error') reject(new Error(`load generator: ${reply.message}`));
        else resolve(reply.result as R);
      };
      const onExit = (code: number | null): void => {
        cleanup();
        reject(new Error(`load generator exited (${code}) during ${command.kind}`));
      };
      const cleanup = (): void => {
        this.child.off('message', onMessage);
        this.child.off('exit', onExit);
      };
      this.child.on('message', onMessage);
      this.child.once('exit', onExit);
      this.child.send(command);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.run({ kind: 'exit' }).catch(() => undefined);
    await exited;
  }
}
