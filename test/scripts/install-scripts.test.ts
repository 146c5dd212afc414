/**
 * README "Two commands": every dependency with an install script is approved in package.json's
 * `allowScripts`. npm 12 skips the install scripts of packages not approved there (npm 11.16+ lists them
 * for review), so a dependency that gains one must be reviewed and added, or `npm install` on a machine
 * without a prebuilt binary would leave serialport or LevelDB unbuilt.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const readJson = (file: string): Record<string, unknown> => JSON.parse(readFileSync(join(root, file), 'utf8')) as Record<string, unknown>;

it('every package-lock entry with an install script is approved in allowScripts, and nothing else is', () => {
  const lock = readJson('package-lock.json') as { packages: Record<string, { hasInstallScript?: boolean }> };
  const withScripts = new Set(
    Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)),
  );
  expect(withScripts.size).toBeGreaterThan(0);
  const allowScripts = (readJson('package.json').allowScripts ?? {}) as Record<string, boolean>;
  expect(Object.fromEntries([...withScripts].sort().map((name) => [name, allowScripts[name]]))).toEqual(
    Object.fromEntries([...withScripts].sort().map((name) => [name, true])),
  );
  // An approval for a package that no longer runs a script is stale: it would approve a future one unseen.
  expect(Object.keys(allowScripts).filter((name) => !withScripts.has(name))).toEqual([]);
});
