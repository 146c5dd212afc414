/**
 * scripts/test-prerequisites.mjs (npm's `pretest`): its decisions on their own, then the script run as a
 * process with a PATH that lacks the tools and recording stand-ins for apt-get and sudo first on PATH
 * (as root, and as user nobody with and without passwordless sudo), and for real with everything present.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { decide, findMissing, PREREQUISITES, type Prerequisite } from '../../scripts/test-prerequisites.mjs';

const SCRIPT = fileURLToPath(new URL('../../scripts/test-prerequisites.mjs', import.meta.url));
const ALL_PACKAGES = 'mosquitto socat openssl iproute2 util-linux chromium';
const row = (command: string, apt = command): Prerequisite => ({ command, apt, why: `${command} is needed` });

describe('decide()', () => {
  it('nothing missing: nothing to do', () => {
    expect(decide({ missing: [], isRoot: false, canSudo: false })).toEqual({ action: 'none' });
  });

  it('missing, as root: apt-get update, then install the packages without recommends, no sudo', () => {
    const plan = decide({ missing: [row('mosquitto'), row('ip', 'iproute2')], isRoot: true, canSudo: false });
    expect(plan).toEqual({
      action: 'install',
      message: 'test prerequisites: mosquitto, ip missing; installing mosquitto iproute2 with apt-get',
      commands: [
        ['/usr/bin/env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'update', '-qq'],
        ['/usr/bin/env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', 'mosquitto', 'iproute2'],
      ],
    });
  });

  it('missing, not root, sudo without a password: the same commands through sudo -n', () => {
    const plan = decide({ missing: [row('socat')], isRoot: false, canSudo: true });
    expect(plan.action).toBe('install');
    if (plan.action !== 'install') return;
    expect(plan.commands.map((c) => c.slice(0, 2))).toEqual([['sudo', '-n'], ['sudo', '-n']]);
    expect(plan.message).toBe('test prerequisites: socat missing; installing socat with apt-get (sudo)');
  });

  it('missing, not root, no passwordless sudo: stop with the one command to run', () => {
    const plan = decide({ missing: [row('socat'), row('openssl')], isRoot: false, canSudo: false });
    expect(plan).toEqual({
      action: 'stop',
      message: 'test prerequisites: socat, openssl missing (socat: socat is needed; openssl: openssl is needed). Install with:\n  sudo apt-get install -y --no-install-recommends socat openssl',
    });
  });

  it('two commands from one package install it once', () => {
    const plan = decide({ missing: [row('a', 'pkg'), row('b', 'pkg')], isRoot: true, canSudo: false });
    expect(plan.action === 'install' && plan.commands[1].at(-1)).toBe('pkg');
    expect(plan.action === 'install' && plan.commands[1].filter((w) => w === 'pkg')).toHaveLength(1);
  });

  it('findMissing() looks in every directory given', () => {
    const present = new Set(['/b/socat', '/a/mosquitto']);
    expect(findMissing([row('mosquitto'), row('socat'), row('openssl')], ['/a', '/b'], (p) => present.has(p)).map((r) => r.command)).toEqual(['openssl']);
  });

  it('the table names Mosquitto, socat and openssl with their Debian packages', () => {
    expect(PREREQUISITES.map((r) => [r.command, r.apt])).toEqual(expect.arrayContaining([['mosquitto', 'mosquitto'], ['socat', 'socat'], ['openssl', 'openssl']]));
  });
});

interface Run { code: number | null; stdout: string; stderr: string }

const isRoot = process.getuid?.() === 0;

/** unshare(1), found on the tests' own PATH (the script's PATH is made to lack everything). */
function unshareBinary(): string {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, 'unshare'))) return join(dir, 'unshare');
  throw new Error('unshare (util-linux) is needed to run the script as root in a user namespace');
}

/**
 * Runs the script as `who`: 'root' in a user namespace that maps this user to root (so the root branch
 * is exercised whoever runs the tests), 'user' as a non-root user (nobody when the tests run as root).
 */
function runScript(env: Record<string, string>, who: 'self' | 'root' | 'user' = 'self'): Promise<Run> {
  return new Promise((resolve, reject) => {
    const [command, args] = who === 'root'
      ? [unshareBinary(), ['--map-root-user', '--', process.execPath, SCRIPT]]
      : [process.execPath, [SCRIPT]];
    const child = spawn(command, args, {
      env, stdio: ['ignore', 'pipe', 'pipe'], ...(who === 'user' && isRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * A PATH of two directories: stand-ins (apt-get, and sudo when asked) that record their arguments, and
 * an empty bin directory where the apt-get stand-in "installs" the tools. No system directories.
 */
function standIns(options: { sudo?: 'grants' | 'refuses' }) {
  const dir = mkdtempSync(join(tmpdir(), 'prereq-'));
  const fake = join(dir, 'fake');
  const bin = join(dir, 'bin');
  mkdirSync(fake);
  mkdirSync(bin);
  const log = join(dir, 'calls.log');
  writeFileSync(log, '');
  const installs = PREREQUISITES.map((r) => `printf '#!/bin/sh\\n' > "${bin}/${r.command}"; /bin/chmod +x "${bin}/${r.command}"`).join('\n');
  writeFileSync(join(fake, 'apt-get'), `#!/bin/sh\necho "apt-get $* DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> "${log}"\nif [ "$1" = install ]; then\n${installs}\nfi\n`);
  if (options.sudo) {
    const grant = options.sudo === 'grants';
    writeFileSync(join(fake, 'sudo'), `#!/bin/sh\necho "sudo $*" >> "${log}"\n${grant ? 'shift; [ "$1" = true ] && exit 0; exec "$@"' : 'exit 1'}\n`);
  }
  for (const path of [dir, fake, bin]) chmodSync(path, 0o777);
  chmodSync(log, 0o666);
  for (const name of ['apt-get', 'sudo']) if (existsSync(join(fake, name))) chmodSync(join(fake, name), 0o755);
  const env = { PATH: `${fake}:${bin}`, TEST_PREREQUISITES_SYSTEM_DIRS: '', HOME: dir };
  return { dir, env, calls: () => readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) };
}

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('scripts/test-prerequisites.mjs as a process', () => {
  it('as root with the tools missing: one line says so, apt-get update and install run, exit 0', async () => {
    const s = standIns({ sudo: 'grants' });
    made.push(s.dir);
    const run = await runScript(s.env, 'root');
    expect(run.stderr).toBe(`test prerequisites: mosquitto, socat, openssl, ip, unshare, chromium missing; installing ${ALL_PACKAGES} with apt-get\n`);
    expect(run.code).toBe(0);
    expect(s.calls()).toEqual([
      'apt-get update -qq DEBIAN_FRONTEND=noninteractive',
      `apt-get install -y -qq --no-install-recommends ${ALL_PACKAGES} DEBIAN_FRONTEND=noninteractive`,
    ]);
  });

  it('as a user with passwordless sudo: asks `sudo -n true`, then installs through sudo', async () => {
    const s = standIns({ sudo: 'grants' });
    made.push(s.dir);
    const run = await runScript(s.env, 'user');
    expect(run.stderr).toBe(`test prerequisites: mosquitto, socat, openssl, ip, unshare, chromium missing; installing ${ALL_PACKAGES} with apt-get (sudo)\n`);
    expect(run.code).toBe(0);
    expect(s.calls()).toEqual([
      'sudo -n true',
      'sudo -n /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get update -qq',
      'apt-get update -qq DEBIAN_FRONTEND=noninteractive',
      `sudo -n /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${ALL_PACKAGES}`,
      `apt-get install -y -qq --no-install-recommends ${ALL_PACKAGES} DEBIAN_FRONTEND=noninteractive`,
    ]);
  });

  it('as a user whose sudo wants a password: installs nothing, prints the one command, exit 1', async () => {
    const s = standIns({ sudo: 'refuses' });
    made.push(s.dir);
    const run = await runScript(s.env, 'user');
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(`  sudo apt-get install -y --no-install-recommends ${ALL_PACKAGES}`);
    expect(s.calls()).toEqual(['sudo -n true']);
  });

  it('as a user without sudo at all: the same advice, exit 1', async () => {
    const s = standIns({});
    made.push(s.dir);
    const run = await runScript(s.env, 'user');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^test prerequisites: mosquitto, socat, openssl, ip, unshare, chromium missing \(mosquitto: .*\)\. Install with:\n {2}sudo apt-get install -y --no-install-recommends mosquitto socat openssl iproute2 util-linux chromium\n$/);
    expect(s.calls()).toEqual([]);
  });

  it('for real, on this machine where everything is present: silent, exit 0', async () => {
    const run = await runScript({ PATH: process.env.PATH ?? '/usr/bin:/bin' });
    expect(run).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});
