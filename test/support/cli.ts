/** The `mqtt-sn` command as users run it (`node bin/mqtt-sn.js …`), in its own process; output collected. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

export const CLI_BIN = join(import.meta.dirname, '..', '..', 'bin', 'mqtt-sn.js');

export interface CliRun { code: number | null; stdout: string; stderr: string }

/** Runs `mqtt-sn <args>` to its end. */
export function runCli(args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
