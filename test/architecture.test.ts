/**
 * The folder layout is the architecture (README "Architecture"): arrows run one way. Each part may
 * import only the parts listed here; a new import that reaches into another's folder fails this test.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** part → the project parts (top-level folders) it may import besides itself. */
const allowed: Record<string, string[]> = {
  'sn-codec': [],
  common: [],
  radios: ['common'],
  client: ['sn-codec', 'common'],
  gateway: ['sn-codec', 'common', 'radios'],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Top-level project folders a file imports (relative specifiers only; packages are not parts). */
function importedParts(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const parts = new Set<string>();
  for (const match of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
    const target = relative(root, resolve(dirname(file), match[1]));
    parts.add(target.split('/')[0]);
  }
  return [...parts];
}

describe('architecture: each part imports only what lies below it', () => {
  for (const [part, mayImport] of Object.entries(allowed)) {
    it(`${part}/ imports ${mayImport.length ? mayImport.join(', ') : 'nothing of the project'}`, () => {
      const offending: string[] = [];
      for (const file of sourceFiles(join(root, part))) {
        for (const imported of importedParts(file)) {
          if (imported !== part && !mayImport.includes(imported)) offending.push(`${relative(root, file)} → ${imported}/`);
        }
      }
      expect(offending).toEqual([]);
    });
  }

  it('gateway/core/ knows no concrete part: only the upstream and store interfaces, config types, the radio interface and the codec', () => {
    const mayImport = ['gateway/core/', 'gateway/broker/upstream.ts', 'gateway/store/store.ts', 'gateway/config/config-types.ts', 'radios/radio.ts', 'sn-codec/'];
    const offending: string[] = [];
    for (const file of sourceFiles(join(root, 'gateway/core'))) {
      for (const match of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
        const target = relative(root, resolve(dirname(file), match[1])).replace(/\.js$/, '.ts');
        if (!mayImport.some((prefix) => target.startsWith(prefix))) offending.push(`${relative(root, file)} → ${target}`);
      }
    }
    expect(offending).toEqual([]);
  });

  it('nothing imports the daemon entry point (gateway/main.ts)', () => {
    const importers = Object.keys(allowed)
      .flatMap((part) => sourceFiles(join(root, part)))
      .filter((file) => /'\.{1,2}\/(?:gateway\/)?main\.js'/.test(readFileSync(file, 'utf8')));
    expect(importers.map((f) => relative(root, f))).toEqual([]);
  });
});
