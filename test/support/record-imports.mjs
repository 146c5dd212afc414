// `node --import ./record-imports.mjs ...`: appends the URL of every module the process loads to the file
// named by RECORD_IMPORTS_FILE, so a test can see what a daemon loaded (and what it did not): ES modules as
// they resolve (a resolve hook), CommonJS modules from Node's require cache when the process exits.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const file = process.env.RECORD_IMPORTS_FILE;
register('./record-imports-hooks.mjs', import.meta.url, { data: { file } });
const requireCache = createRequire(import.meta.url).cache;
process.on('exit', () => {
  if (!file) return;
  const urls = Object.keys(requireCache).map((path) => pathToFileURL(path).href);
  if (urls.length > 0) appendFileSync(file, `${urls.join('\n')}\n`);
});
