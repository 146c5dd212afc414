/**
 * The ahead-of-time build (scripts/build.mjs) as the bins use it, in a copy of the project (node_modules
 * linked), so editing a source here touches nothing of the real tree: the first run builds, a fresh build is
 * reused, an edited source is rebuilt before anything runs, a source that does not compile is an error naming
 * file and line (never stale output), and stack traces name the .ts lines.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
/** What the build reads: the sources, the bins, the build script and the files it watches. */
const COPIED = ['sn-codec', 'common', 'radios', 'gateway', 'client', 'bin', 'scripts', 'package.json', 'tsconfig.json'];

interface Run { status: number | null; stdout: string; stderr: string }

describe('ahead-of-time build', () => {
  const copy = mkdtempSync(join(tmpdir(), 'gw-build-'));
  const run = (bin: string, args: string[]): Run => {
    const r = spawnSync(process.execPath, [join(copy, 'bin', bin), ...args], { cwd: copy, encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const currentBuild = (): string => JSON.parse(readFileSync(join(copy, 'dist', 'current.json'), 'utf8')).build;
  const edit = (file: string, from: string, to: string) => {
    const path = join(copy, file);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain(from);
    writeFileSync(path, text.replace(from, to));
  };

  beforeAll(() => {
    for (const entry of COPIED) cpSync(join(root, entry), join(copy, entry), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  });

  it('the first run of a bin builds dist/, and runs the build', () => {
    const r = run('mqtt-sn.js', ['--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('Usage: mqtt-sn pub|sub|search');
    expect(readFileSync(join(copy, 'dist', currentBuild(), 'mqtt-sn.js'), 'utf8')).toContain('Usage: mqtt-sn pub|sub|search');
  });

  it('a fresh build is run as it is, not rebuilt', () => {
    const before = currentBuild();
    expect(run('mqtt-sn.js', ['--help']).status).toBe(0);
    expect(run('mqtt-sn-gateway.js', ['--help']).status).toBe(0);
    expect(currentBuild()).toBe(before);
  });

  it('an edited source is rebuilt before the bin runs: the CLI', () => {
    const before = currentBuild();
    edit('client/cli.ts', 'publish one message', 'publish one message (edited)');
    const r = run('mqtt-sn.js', ['--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('publish one message (edited)');
    expect(currentBuild()).not.toBe(before);
  });

  it('an edited source is rebuilt before the bin runs: the daemon, for a file it imports', () => {
    edit('gateway/main.ts', 'configuration file (default ./gateway.yaml)', 'configuration file (default ./gateway.yaml, edited)');
    const r = run('mqtt-sn-gateway.js', ['--help']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('default ./gateway.yaml, edited');
  });

  it('a source that does not compile stops the bin with the file and line, and runs nothing stale', () => {
    edit('client/cli.ts', 'const USAGE = `', 'const USAGE = ) `');
    const r = run('mqtt-sn.js', ['--help']);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/client\/cli\.ts:\d+:\d+/);
    expect(r.stderr).toContain('npm run build');
    edit('client/cli.ts', 'const USAGE = ) `', 'const USAGE = `');
    expect(run('mqtt-sn.js', ['--help']).status).toBe(0);
  });

  it('a build removes the builds before the one it replaces, but not one in progress (young, not yet current)', () => {
    const build = () => {
      const r = spawnSync(process.execPath, [join(copy, 'scripts', 'build.mjs')], { cwd: copy, encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      return currentBuild();
    };
    const builds = () => readdirSync(join(copy, 'dist')).filter((entry) => entry.startsWith('build-')).sort();
    build();
    const previous = build();
    // Everything there so far made an hour ago; another process's build in progress made just now.
    const anHourAgo = new Date(Date.now() - 3600_000);
    for (const entry of builds()) utimesSync(join(copy, 'dist', entry), anHourAgo, anHourAgo);
    mkdirSync(join(copy, 'dist', 'build-in-progress'));
    const current = build();
    expect(builds()).toEqual([current, previous, 'build-in-progress'].sort());
  });

  it('an import() the daemon\'s code cache could not run (not of a package name) fails the build, naming the line', () => {
    edit('gateway/main.ts', 'async function main(): Promise<number> {\n', 'async function main(): Promise<number> {\n  if (process.env.NEVER) await import(process.env.NEVER);\n');
    const r = run('mqtt-sn-gateway.js', ['--help']);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/import\(.*mqtt-sn-gateway\.cjs:\d+/);
    edit('gateway/main.ts', '  if (process.env.NEVER) await import(process.env.NEVER);\n', '');
    expect(run('mqtt-sn-gateway.js', ['--help']).status).toBe(0);
  });

  it('a stack trace names the TypeScript source and line, not the build', () => {
    edit('client/cli.ts', 'const USAGE = `', 'throw new Error(\'deliberate\');\nconst USAGE = `');
    const line = readFileSync(join(copy, 'client', 'cli.ts'), 'utf8').split('\n').findIndex((l) => l.includes('deliberate')) + 1;
    const r = run('mqtt-sn.js', ['--help']);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('Error: deliberate');
    expect(r.stderr).toContain(`${join(copy, 'client', 'cli.ts')}:${line}:7`);
    edit('client/cli.ts', 'throw new Error(\'deliberate\');\n', '');
  });

  it('a stack trace of the daemon (one CommonJS file) names the TypeScript source and line, not the build', () => {
    edit('gateway/main.ts', 'async function main(): Promise<number> {\n', 'async function main(): Promise<number> {\n  throw new Error(\'deliberate\');\n');
    const line = readFileSync(join(copy, 'gateway', 'main.ts'), 'utf8').split('\n').findIndex((l) => l.includes('deliberate')) + 1;
    const r = run('mqtt-sn-gateway.js', ['--help']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Error: deliberate');
    expect(r.stderr).toContain(`${join(copy, 'gateway', 'main.ts')}:${line}:9`);
    edit('gateway/main.ts', '  throw new Error(\'deliberate\');\n', '');
  });
});
