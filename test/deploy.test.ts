/**
 * deploy/: the systemd unit keeps the gateway unprivileged and confined, and agrees with the installer
 * about where config and state live (a gateway that cannot write its state dies on its first Zigbee start).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const unitText = readFileSync(join(root, 'deploy', 'mqtt-sn-gateway.service'), 'utf8');
const installer = readFileSync(join(root, 'deploy', 'install.sh'), 'utf8');

/** `Key=value` lines of the unit (comments and sections left out); a key given twice keeps every value. */
const unit = new Map<string, string[]>();
for (const line of unitText.split('\n')) {
  const match = /^(\w+)=(.*)$/.exec(line);
  if (match) unit.set(match[1], [...(unit.get(match[1]) ?? []), match[2]]);
}
const one = (key: string) => unit.get(key)?.[0];
const installerVar = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(installer)?.[1];

describe('deploy/ systemd unit and installer', () => {
  it('runs as an unprivileged user in group dialout, restarted on failure', () => {
    expect(one('User')).toBe(installerVar('SERVICE_USER'));
    expect(one('User')).not.toBe('root');
    expect(one('SupplementaryGroups')).toBe('dialout');
    expect(installer).toContain('usermod -aG dialout "$SERVICE_USER"');
    expect(one('Restart')).toBe('on-failure');
  });

  it('is confined: ProtectSystem=strict, NoNewPrivileges, and writes only its state directory', () => {
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('NoNewPrivileges')).toBe('true');
    expect(unit.get('ReadWritePaths')).toEqual([installerVar('STATE_DIR')]);
    expect(`/var/lib/${one('StateDirectory')}`).toBe(installerVar('STATE_DIR'));
  });

  it('starts with the config the installer writes, whose stateDir the installer points at the state directory', () => {
    const config = `${installerVar('CONFIG_DIR')}/gateway.yaml`;
    expect(one('ExecStart')).toBe(`/usr/bin/node bin/mqtt-sn-gateway.js --config ${config}`);
    expect(one('ExecStartPre')).toBe(`/usr/bin/node bin/mqtt-sn-gateway.js --config ${config} --check`);
    expect(one('WorkingDirectory')).toBe(installerVar('APP_DIR'));
    // The installer's sed rewrites the shipped file's stateDir line: it must be there to rewrite.
    expect(installer).toContain('sed "s|^stateDir: .*|stateDir: $STATE_DIR|"');
    expect(readFileSync(join(root, 'gateway.yaml'), 'utf8')).toMatch(/^stateDir: \.\/state$/m);
  });

  it('installs gateway.schema.json beside the config, where the config\'s yaml-language-server line looks for it', () => {
    expect(readFileSync(join(root, 'gateway.yaml'), 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=./gateway.schema.json');
    expect(installer).toContain('install -m 0644 "$APP_DIR/gateway.schema.json" "$CONFIG_DIR/gateway.schema.json"');
    // Outside the "write gateway.yaml only if absent" block: an update brings the new schema to an old config.
    const schemaLine = installer.indexOf('"$CONFIG_DIR/gateway.schema.json"');
    expect(schemaLine).toBeGreaterThan(installer.indexOf('\nfi\n', installer.indexOf('if [ ! -e "$CONFIG_DIR/gateway.yaml" ]')));
  });

  it('install.sh is valid POSIX shell that stops on the first error', () => {
    const check = spawnSync('sh', ['-n', join(root, 'deploy', 'install.sh')], { encoding: 'utf8' });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(installer).toMatch(/^set -eu$/m);
  });
});
