/**
 * gateway.schema.json: generated from gateway/config/config-schema.ts and never edited by hand, described
 * key by key for editors, and agreeing with the gateway about which files are good: checked here by a
 * validator of its own (Ajv compiled from the published file, as an editor reads it), not the daemon's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { generatedFiles, SCHEMA_FILE } from '../scripts/generate-config-schema.js';
import { ConfigError, parseConfig } from '../gateway/config/config.js';

const root = join(import.meta.dirname, '..');
const publishedText = readFileSync(SCHEMA_FILE, 'utf8');
const published = JSON.parse(publishedText) as Record<string, unknown>;

/** An editor's view: plain JSON Schema, the gateway's own keywords ignored, oneOf taken as written. */
const editorCheck = new Ajv({ allErrors: true, strict: false }).compile(published);

function editorErrors(yaml: string): ErrorObject[] {
  const value = parse(yaml) ?? {};
  // README shows radios one list item at a time: they are read as the radios list they belong in.
  const file = Array.isArray(value) ? { radios: value } : value;
  return editorCheck(file) ? [] : editorCheck.errors ?? [];
}

/** The ```yaml blocks of README.md, with the line each starts on. */
function readmeExamples(): { line: number; yaml: string }[] {
  const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n');
  const blocks: { line: number; yaml: string }[] = [];
  lines.forEach((text, index) => {
    if (text.trim() !== '```yaml') return;
    const end = lines.indexOf('```', index + 1);
    blocks.push({ line: index + 1, yaml: lines.slice(index + 1, end).join('\n') });
  });
  return blocks;
}

describe('gateway.schema.json is generated, never kept by hand', () => {
  it('the committed schema and precompiled validator are what `npm run schema` makes from config-schema.ts', () => {
    for (const { path, text } of generatedFiles()) {
      expect(readFileSync(path, 'utf8'), `${path} is stale: run npm run schema`).toBe(text);
    }
  });

  it('every key has a description for editors to show on hover, with its default when it has one', () => {
    const undescribed: string[] = [];
    const visit = (node: Record<string, unknown>, path: string): void => {
      for (const [key, child] of Object.entries((node.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        const at = path ? `${path}.${key}` : key;
        // What the key is, in words, besides the default the generator adds.
        const own = typeof child.description === 'string' ? child.description.replace(/\s*Default: [^]*$/, '') : '';
        if (own.length < 10) undescribed.push(at);
        const scalarDefault = child.default !== undefined && typeof child.default !== 'object';
        if (scalarDefault && !String(child.description).includes('Default:')) undescribed.push(`${at} (default not said)`);
        visit(child, at);
      }
      for (const member of (node.oneOf ?? []) as Record<string, unknown>[]) visit(member, `${path}(${(member.title as string) ?? '?'})`);
      if (typeof node.items === 'object') visit(node.items as Record<string, unknown>, `${path}[]`);
      if (typeof node.additionalProperties === 'object') visit(node.additionalProperties as Record<string, unknown>, `${path}.*`);
    };
    visit(published, '');
    expect(undescribed).toEqual([]);
    expect((published.properties as Record<string, { description?: string }>).gateway.description).toBeTruthy();
  });
});

describe('an editor and the gateway agree on good files', () => {
  it('the shipped gateway.yaml starts with the yaml-language-server line naming the schema beside it', () => {
    const first = readFileSync(join(root, 'gateway.yaml'), 'utf8').split('\n')[0];
    expect(first).toBe('# yaml-language-server: $schema=./gateway.schema.json');
  });

  it('the shipped gateway.yaml is valid against gateway.schema.json (empty sections included)', () => {
    expect(editorErrors(readFileSync(join(root, 'gateway.yaml'), 'utf8'))).toEqual([]);
  });

  it('every yaml example in README.md is valid against gateway.schema.json and accepted by the gateway', () => {
    const examples = readmeExamples();
    expect(examples.length).toBeGreaterThanOrEqual(8);
    for (const { line, yaml } of examples) {
      expect(editorErrors(yaml), `README.md line ${line}`).toEqual([]);
      const value = parse(yaml);
      const file = Array.isArray(value) ? `radios:\n${yaml}\n` : yaml;
      expect(() => parseConfig(file, `README.md:${line}`)).not.toThrow();
    }
  });
});

describe('an editor flags what the gateway refuses', () => {
  const bad: [what: string, yaml: string, gatewaySays: RegExp][] = [
    ['a misspelt key', 'gateway: { advertiseIntervall: 60 }', /unknown key; did you mean "advertiseInterval"/],
    ['a port out of range', 'radios: [ { type: udp, port: 70000 } ]', /must be an integer 1\.\.65535/],
    ['an unknown radio type', 'radios: [ { type: lora } ]', /must be one of udp, serial, xbee, zigbee/],
    ['a key of another radio type', 'radios: [ { type: udp, path: /dev/ttyACM0 } ]', /unknown key for a udp radio/],
    ['a serial radio without its path', 'radios: [ { type: serial } ]', /radios\[0\]\.path: required/],
    ['a duration in words', 'broker: { keepalive: 5 minutes }', /must be a duration/],
    ['a wildcard in a predefined topic', 'topics: { predefined: { 1: home/+/temperature } }', /without the wildcards/],
    ['a topic id that is not a number', 'topics: { predefined: { kitchen: a/b } }', /topic id must be an integer/],
    ['http: true', 'http: true', /http: must be a mapping \(got true\)/],
    ['a zigbee key of the wrong length', 'radios: [ { type: zigbee, adapter: zstack, path: /dev/ttyUSB0, networkKey: [1, 2, 3] } ]', /must be 16 bytes/],
  ];
  for (const [what, yaml, gatewaySays] of bad) {
    it(`${what}: refused by the schema and by the gateway`, () => {
      expect(editorErrors(yaml)).not.toEqual([]);
      expect(() => parseConfig(yaml)).toThrow(ConfigError);
      expect(() => parseConfig(yaml)).toThrow(gatewaySays);
    });
  }
});

describe('the daemon validates without the schema tooling', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gw-schema-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('--check loads neither TypeBox nor Ajv: the validator is precompiled', () => {
    const imports = join(dir, 'check.imports');
    const requires = join(dir, 'check.requires');
    // ES modules through the resolve hook, CommonJS ones (Ajv is one) from require's cache at exit.
    const recordRequires = join(dir, 'record-requires.cjs');
    writeFileSync(recordRequires, "process.on('exit', () => require('node:fs').writeFileSync(process.env.RECORD_REQUIRES_FILE, Object.keys(require.cache).join('\\n')));\n");
    const run = spawnSync(
      process.execPath,
      ['--require', recordRequires, '--import', join(root, 'test', 'support', 'record-imports.mjs'), join(root, 'bin', 'mqtt-sn-gateway.js'), '--config', join(root, 'gateway.yaml'), '--check'],
      { encoding: 'utf8', timeout: 15_000, env: { ...process.env, RECORD_IMPORTS_FILE: imports, RECORD_REQUIRES_FILE: requires } },
    );
    expect(run.stdout).toContain('OK');
    const loaded = [...readFileSync(imports, 'utf8').split('\n'), ...readFileSync(requires, 'utf8').split('\n')];
    expect(loaded.some((url) => url.includes('bin/mqtt-sn-gateway.js'))).toBe(true); // the recording worked
    expect(loaded.filter((url) => /\/node_modules\/(typebox|ajv)\//.test(url))).toEqual([]);
  });

  it('--check refuses a bad file with the schema\'s messages, file:line:column first', () => {
    const config = join(dir, 'bad.yaml');
    writeFileSync(config, 'gateway:\n  advertiseIntervall: 60\nradios:\n  - { type: serial }\n');
    const run = spawnSync(process.execPath, [join(root, 'bin', 'mqtt-sn-gateway.js'), '--config', config, '--check'], { encoding: 'utf8', timeout: 15_000 });
    expect(run.status).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      `${config}:2:3 gateway.advertiseIntervall: unknown key; did you mean "advertiseInterval"?`,
      `${config}:4:5 radios[0].path: required`,
    ]);
  });
});
