/**
 * Stack traces that name the TypeScript sources (`gateway/core/core.ts:120:7`) rather than the build
 * (`dist/build-…/mqtt-sn-gateway.js:4012:9`), for frames in `buildDir` only, with that build's source maps
 * read when a stack trace is first formatted.
 *
 * Node's own source map support (`--enable-source-maps`) would do it too, but it reads the source map of
 * every module as it loads, mqtt's dozens included: 1.7 MB of the idle daemon's RSS (issue 13).
 */
import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function sourceStackTraces(buildDir) {
  /** Output file → its source map, or null when it has none. */
  const maps = new Map();
  const mapOf = (file) => {
    if (!maps.has(file)) {
      try {
        maps.set(file, new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))));
      } catch {
        maps.set(file, null);
      }
    }
    return maps.get(file);
  };
  /** `site` as V8 prints it, its build location replaced by the source's. */
  const frame = (site) => {
    const text = String(site);
    let file = site.getFileName();
    if (!file || site.getLineNumber() === null) return text;
    if (file.startsWith('file:')) file = fileURLToPath(file);
    if (!file.startsWith(buildDir)) return text;
    const map = mapOf(file);
    const entry = map?.findEntry(site.getLineNumber() - 1, site.getColumnNumber() - 1);
    if (!entry?.originalSource) return text;
    const source = resolve(dirname(file), entry.originalSource);
    const generated = `${site.getFileName()}:${site.getLineNumber()}:${site.getColumnNumber()}`;
    return text.replace(generated, `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`);
  };
  Error.prepareStackTrace = (error, sites) => {
    let header;
    try {
      header = Error.prototype.toString.call(error);
    } catch {
      header = '<error>';
    }
    return [header, ...sites.map((site) => `    at ${frame(site)}`)].join('\n');
  };
}
