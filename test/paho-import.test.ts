/**
 * `mqtt-sn-gateway import-paho`: Paho MQTT-SN gateway files (test/fixtures/paho/, written in Paho's
 * documented format) become a gateway.yaml that passes --check, with a comment for every Paho setting
 * that has no equivalent.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../gateway/config/config.js';
import { parseGatewayConf } from '../gateway/paho/paho-files.js';

const root = join(import.meta.dirname, '..');
const daemon = join(root, 'bin', 'mqtt-sn-gateway.js');
const fixtures = join(root, 'test', 'fixtures', 'paho');
const dir = mkdtempSync(join(tmpdir(), 'paho-import-'));

function importPaho(file: string) {
  return spawnSync(process.execPath, [daemon, 'import-paho', file], { encoding: 'utf8', timeout: 15_000 });
}

describe('import-paho', () => {
  const full = importPaho(join(fixtures, 'gateway.conf'));

  it('prints YAML that mqtt-sn-gateway --check accepts', () => {
    expect(full.stderr).toBe('');
    expect(full.status).toBe(0);
    const file = join(dir, 'converted.yaml');
    writeFileSync(file, full.stdout);
    const check = spawnSync(process.execPath, [daemon, '--config', file, '--check'], { encoding: 'utf8', timeout: 15_000 });
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('converts the broker, gateway and UDP settings to their keys', () => {
    const config = parseConfig(full.stdout, 'converted.yaml');
    expect(config.gateway).toMatchObject({ id: 3, advertiseInterval: 600, maxClients: 50 });
    expect(config.broker).toMatchObject({ url: 'mqtt://127.0.0.1:1884', username: 'greenhouse', password: '1234', mode: 'aggregating' });
    expect(config.radios).toEqual([expect.objectContaining({ type: 'udp', host: '0.0.0.0', port: 10020, multicast: expect.objectContaining({ group: '225.1.1.1', port: 1885, ttl: 1 }) })]);
  });

  it('§6.7 converts the predefined topic list: * and COMMON for every client, others per ClientId', () => {
    const config = parseConfig(full.stdout, 'converted.yaml');
    expect([...config.topics.predefined]).toEqual([[1, 'greenhouse/alarm'], [2, 'greenhouse/clock']]);
    expect([...config.topics.clients.get('bed-north')!.predefined]).toEqual([[10, 'greenhouse/north/soil'], [11, 'greenhouse/north/air']]);
    expect([...config.topics.clients.get('bed-south')!.predefined]).toEqual([[10, 'greenhouse/south/soil']]);
    // A ClientId longer than 23 characters raises maxClientIdLength, so the file still checks.
    expect(config.gateway.maxClientIdLength).toBe('a-sensor-with-a-very-long-client-id'.length);
  });

  it('comments every list entry it cannot convert, with the reason', () => {
    expect(full.stdout).toContain('#   Paho predefinedTopic.conf, line 14 "*,greenhouse/+/all,3": a predefined topic must be a concrete name');
    expect(full.stdout).toContain('#   Paho predefinedTopic.conf, line 15 "*,greenhouse/zero,0": a topic id must be an integer 1..65534');
    expect(full.stdout).toContain('#   Paho predefinedTopic.conf, line 16 "bed-south,greenhouse/south/again,10": topic id 10 is already given for bed-south');
    expect(full.stdout).toContain('#   Paho clients.conf, line 6: door secureConnection: TLS is per broker connection here');
  });

  it('ClientAuthentication=YES: the client list becomes access rules (ClientId from its address); QoS-1 clients may publish anonymously', () => {
    const config = parseConfig(full.stdout, 'converted.yaml');
    expect(config.access.rules).toEqual([
      { clientId: 'bed-north', from: ['udp:192.0.2.10:20001'] },
      { clientId: 'bed-south', from: ['udp:192.0.2.11:20002'] },
      { clientId: 'door', from: ['udp:192.0.2.12:20003'] },
    ]);
    expect(config.access.anonymous).toEqual({ from: ['udp:192.0.2.12:20003'] });
  });

  it('names every setting of the Paho file in the output: converted, or commented with why not', () => {
    const settings = parseGatewayConf(readFileSync(join(fixtures, 'gateway.conf'), 'utf8'));
    expect(settings.length).toBeGreaterThan(25);
    const missing = settings.filter((s) => !new RegExp(`\\b${s.key.replace(/[-]/g, '\\-')}\\b`).test(full.stdout)).map((s) => s.key);
    expect(missing).toEqual([]);
    expect(full.stdout).toMatch(/^# {3}Paho GatewayName=Greenhouse-GW \(line 7\): no MQTT-SN equivalent/m);
    expect(full.stdout).toMatch(/^# {3}Paho SomethingNew=42 \(line 54\): not a Paho setting this importer knows/m);
    expect(full.stdout).toMatch(/^ {2}# - type: xbee\n {2}# {3}path: \/dev\/ttyUSB0/m);
  });

  it('a transparent Paho gateway stays transparent; a list Paho would not read is not read', () => {
    const minimal = importPaho(join(fixtures, 'minimal.conf'));
    expect(minimal.status).toBe(0);
    const config = parseConfig(minimal.stdout, 'minimal.yaml');
    expect(config.broker).toMatchObject({ url: 'mqtt://broker.example:1883', mode: 'transparent' });
    expect(config.topics.predefined.size).toBe(0);
    expect(config.access.rules).toEqual([]);
    expect(minimal.stdout).toContain('mode: transparent  # Paho AggregatingGateway=NO');
    expect(minimal.stdout).toContain('Paho PredefinedTopicList=/nonexistent/predefinedTopic.conf (line 5): Paho reads it only with PredefinedTopic=YES');
  });

  it('a Paho file that cannot be read: exit 2 with the path, nothing on stdout', () => {
    const run = importPaho(join(fixtures, 'missing.conf'));
    expect(run.status).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/import-paho: cannot read the Paho configuration .*missing\.conf/);
  });
});
