/**
 * gateway.yaml's first line, `# yaml-language-server: $schema=./gateway.schema.json`, as an editor reads it:
 * the YAML language server VS Code's YAML extension runs (and Neovim, Helix, Emacs...), over stdio,
 * with no schema store, so the schema comes from that line alone.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { YamlLanguageServer, type Diagnostic } from './support/yaml-language-server.js';

const root = join(import.meta.dirname, '..');
const shipped = join(root, 'gateway.yaml');
/** A file being written in the editor, next to the shipped one: never saved, the editor sends its text. */
const draft = join(root, 'draft-gateway.yaml');
const MODELINE = '# yaml-language-server: $schema=./gateway.schema.json';
const lines = (...text: string[]): string => `${text.join('\n')}\n`;

/** What the schema says, without the YAML parser's own remarks. */
const fromSchema = (diagnostics: Diagnostic[]) => diagnostics.filter((d) => d.source?.startsWith('yaml-schema'));

describe('an editor completes and checks gateway.yaml as you type', () => {
  let server: YamlLanguageServer;
  beforeAll(async () => { server = await YamlLanguageServer.start(root); });
  afterAll(async () => { await server?.stop(); });

  it('flags a misspelt key and a value out of range on their own lines', async () => {
    const diagnostics = fromSchema(await server.show(draft, lines(MODELINE, 'gateway:', '  advertiseIntervall: 60', '  id: 300')));
    expect(diagnostics.map((d) => d.range.start.line).sort()).toEqual([2, 3]);
    expect(diagnostics.find((d) => d.range.start.line === 2)?.message).toMatch(/advertiseIntervall.*not allowed/);
    expect(diagnostics.find((d) => d.range.start.line === 3)?.message).toMatch(/maximum of 255/);
  });

  it('completes a udp radio with the udp radio\'s keys only', async () => {
    await server.show(draft, lines(MODELINE, 'radios:', '  - type: udp', '    '));
    const offered = await server.completion(draft, 3, 4);
    expect(offered).toEqual(expect.arrayContaining(['host', 'port', 'broadcastAddress', 'multicast']));
    expect(offered).not.toContain('baudRate');
  });

  it('shows what a key is, its range and its default on hover', async () => {
    await server.show(draft, lines(MODELINE, 'gateway:', '  id: 1'));
    const text = await server.hover(draft, 2, 3);
    expect(text).toContain('gateway.id');
    expect(text).toContain('GwId in ADVERTISE and GWINFO');
    expect(text).toContain('Default: 1.');
  });

  it('flags nothing in the shipped gateway.yaml', async () => {
    const text = readFileSync(shipped, 'utf8');
    await server.show(shipped, text);
    // The schema is attached to this document (so an empty list below means checked, not unchecked).
    expect(await server.hover(shipped, text.split('\n').indexOf('gateway:') + 2, 3)).toContain('gateway.id');
    expect(await server.show(shipped, text)).toEqual([]);
  });
});
