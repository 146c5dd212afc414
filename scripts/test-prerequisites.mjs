#!/usr/bin/env node
/**
 * What `npm test` needs from the system besides Node, brought in before the tests run (npm's `pretest`).
 * One table row per tool: the command, the Debian package that provides it, and why the tests need it.
 * When something is missing and this user may install (root, or sudo without a password prompt), it is
 * installed with apt-get and one line says so; otherwise the script stops at once with the one command
 * to run. Plain JavaScript, no dependencies: it must run in well under a second.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Add a row for a new tool (e.g. Chromium for browser tests): command, Debian package, reason. */
export const PREREQUISITES = [
  { command: 'mosquitto', apt: 'mosquitto', why: 'a real MQTT broker, started by each end-to-end suite' },
  { command: 'socat', apt: 'socat', why: 'pseudo-terminal pairs for the serial and XBee radio tests' },
  { command: 'openssl', apt: 'openssl', why: 'certificates for the broker TLS test' },
  { command: 'ip', apt: 'iproute2', why: 'a loopback with a multicast route inside the multicast test\'s network namespace' },
  { command: 'unshare', apt: 'util-linux', why: 'the network namespace the multicast test runs in' },
  { command: 'chromium', apt: 'chromium', why: 'the headless browser the status page test drives (playwright-core downloads none)' },
];

/**
 * sbin directories are searched besides PATH: Mosquitto lives in /usr/sbin, often not on a user's PATH.
 * TEST_PREREQUISITES_SYSTEM_DIRS replaces them (the script's own tests set it empty).
 */
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Where a command is looked for: PATH, then the sbin directories. */
export function searchDirs(env) {
  const system = env.TEST_PREREQUISITES_SYSTEM_DIRS === undefined ? SYSTEM_DIRS : env.TEST_PREREQUISITES_SYSTEM_DIRS.split(delimiter);
  return [...(env.PATH ?? '').split(delimiter), ...system].filter((dir) => dir !== '');
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The rows whose command is found in none of `dirs`. */
export function findMissing(rows, dirs, exists = isExecutable) {
  return rows.filter((row) => !dirs.some((dir) => exists(join(dir, row.command))));
}

/** The commands that install `packages`, prefixed with sudo when not root. */
export function installCommands(packages, asRoot) {
  // /usr/bin/env (coreutils, always there) sets DEBIAN_FRONTEND past sudo's env_reset, and finds apt-get on PATH.
  const prefix = asRoot ? [] : ['sudo', '-n'];
  return [
    [...prefix, '/usr/bin/env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'update', '-qq'],
    [...prefix, '/usr/bin/env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...packages],
  ];
}

/**
 * The decision, kept pure so it is tested on its own: nothing missing → nothing to do; missing and
 * allowed to install → the commands; otherwise → stop, with the command the user should run.
 */
export function decide({ missing, isRoot, canSudo }) {
  if (missing.length === 0) return { action: 'none' };
  const packages = [...new Set(missing.map((row) => row.apt))];
  const names = missing.map((row) => row.command).join(', ');
  if (isRoot || canSudo) {
    return {
      action: 'install',
      commands: installCommands(packages, isRoot),
      message: `test prerequisites: ${names} missing; installing ${packages.join(' ')} with apt-get${isRoot ? '' : ' (sudo)'}`,
    };
  }
  return {
    action: 'stop',
    message: `test prerequisites: ${names} missing (${missing.map((row) => `${row.command}: ${row.why}`).join('; ')}). Install with:\n  sudo apt-get install -y --no-install-recommends ${packages.join(' ')}`,
  };
}

/** `sudo -n true`: may this user run sudo without a password prompt? Bounded, so the script never hangs. */
function sudoWithoutPassword(env) {
  const result = spawnSync('sudo', ['-n', 'true'], { env, stdio: 'ignore', timeout: 800 });
  return result.status === 0;
}

export function main(env = process.env) {
  const dirs = searchDirs(env);
  const missing = findMissing(PREREQUISITES, dirs);
  if (missing.length === 0) return 0;
  const isRoot = process.getuid?.() === 0;
  const plan = decide({ missing, isRoot, canSudo: !isRoot && sudoWithoutPassword(env) });
  if (plan.action === 'stop') {
    process.stderr.write(`${plan.message}\n`);
    return 1;
  }
  process.stderr.write(`${plan.message}\n`);
  for (const [command, ...args] of plan.commands) {
    const result = spawnSync(command, args, { env, stdio: ['ignore', 'inherit', 'inherit'] });
    if (result.status !== 0) {
      process.stderr.write(`test prerequisites: ${[command, ...args].join(' ')} failed (${result.error?.message ?? `exit ${result.status}`})\n`);
      return 1;
    }
  }
  const still = findMissing(PREREQUISITES, dirs);
  if (still.length > 0) {
    process.stderr.write(`test prerequisites: still missing after apt-get: ${still.map((row) => row.command).join(', ')}\n`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) process.exitCode = main();
