/**
 * The ahead-of-time build: the daemon (gateway/main.ts) and the `mqtt-sn` command (client/cli.ts) bundled by
 * esbuild into plain JavaScript under dist/, so they start without a run-time TypeScript loader.
 *
 *   node scripts/build.mjs          build now (npm's `prepare`, so `npm install` and `npm ci` build)
 *   import { builtEntry } ...       what bin/*.js do: the build's entry, rebuilt first when a source changed
 *
 * - Packages stay external (node_modules as installed), yaml aside (bundled: requireCommonJsPlugin), and our
 *   own lazily loaded parts (the embedded broker, the session store, the radios) stay lazy: in the daemon's
 *   one CommonJS file (ENTRIES) they run when first imported, in the command's ES modules they are chunks.
 * - A build removes the earlier builds (removeOldBuilds).
 * - Each build goes to a directory of its own, dist/<build>/, and dist/current.json (written by rename) names
 *   the current one with the size and mtime of every file that went into it. Processes that start together
 *   (a test suite) and find the build stale may each rebuild: every build is whole, and the last one named wins.
 * - Source maps without the sources' text: stack traces name .ts lines (source-stack-traces.mjs).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { sourceStackTraces } from './source-stack-traces.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const CURRENT = join(DIST, 'current.json');

/**
 * Output name → source entry point and output format. The daemon is one CommonJS file: Node 20 can cache the
 * compiled code of a CommonJS file (scripts/code-cache.mjs), never that of an ES module; its lazily loaded
 * parts (the embedded broker, the session store, the radios) are in it, initialized only when first imported.
 * The `mqtt-sn` command stays an ES module with chunks.
 */
const ENTRIES = {
  'mqtt-sn-gateway': { source: 'gateway/main.ts', format: 'cjs' },
  'mqtt-sn': { source: 'client/cli.ts', format: 'esm' },
};
/** The built file of `name`, relative to its build directory. */
const outputFile = (name) => `${name}.${ENTRIES[name].format === 'cjs' ? 'cjs' : 'js'}`;
/** What the daemon's CommonJS build calls for import() (importThroughHelper). */
const IMPORT_PACKAGE = join(ROOT, 'scripts', 'import-package.cjs');
/** yaml's ES-module build (its package.json offers it to browsers), bundled into ours. */
const YAML_ESM_BUILD = join(ROOT, 'node_modules', 'yaml', 'browser', 'dist', 'index.js');
/** Files that shape the output besides the sources esbuild reads: a change to them means a rebuild too. */
const BUILD_INPUTS = ['scripts/build.mjs', 'scripts/import-package.cjs', 'tsconfig.json', 'package.json'];
/**
 * A build directory this young may be another process's build in progress (not yet named current): kept.
 * Older ones are removed by the next build, except the current and the one before it, which a running process
 * may still read (the CLI's chunks, the source maps of a stack trace).
 */
const BUILD_IN_PROGRESS_MS = 10 * 60 * 1000;

/** `import.meta.dirname` in a source means the source's folder; in the bundle it would be dist/<build>/, so it is rewritten. */
function sourceDirnamePlugin(outdir, format) {
  const dirnameOfOutput = format === 'cjs' ? '__dirname' : 'import.meta.dirname';
  return {
    name: 'source-dirname',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (/import\.meta\.(url|filename)\b/.test(text)) {
          return { errors: [{ text: 'import.meta.url and import.meta.filename name the bundle, not this file, in the build: use import.meta.dirname' }] };
        }
        if (!text.includes('import.meta.dirname')) return { contents: text, loader: 'ts' };
        const fromOutput = relative(outdir, dirname(args.path));
        return { contents: text.replaceAll('import.meta.dirname', `(${dirnameOfOutput} + ${JSON.stringify('/' + fromOutput)})`), loader: 'ts' };
      });
    },
  };
}

/**
 * CommonJS packages are loaded with require() (through a createRequire in the bundle's banner) rather than
 * an ESM import: Node 20 lexes an imported CommonJS package, and everything it re-exports, to find its named
 * exports, which costs memory for good (`mqtt`: about 7 MB of RSS). ES-module packages (aedes) stay imports,
 * and so does a dynamic import() of a package (prom-client at the first scrape, serialport): lazy, and rare.
 * In the daemon's CommonJS build every package is require()d by esbuild's own output, and an ES-module one must
 * be import()ed (importThroughHelper).
 */
function requireCommonJsPlugin(format) {
  const isCommonJs = new Map();
  const packageOf = (specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');
  const commonJs = (specifier) => {
    const name = packageOf(specifier);
    if (!isCommonJs.has(name)) {
      const manifest = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8'));
      isCommonJs.set(name, manifest.type !== 'module');
    }
    return isCommonJs.get(name);
  };
  return {
    name: 'require-commonjs',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:')) return { path: args.path, external: true };
        // yaml is bundled, from its ES-module build: as a package it is 72 CommonJS files for Node's module
        // loader to find, read and wrap at every start; bundled, the daemon idles about 0.5 MB smaller and
        // serves 10-40 ms sooner (README "Benchmarks"). That build warns through console.warn rather than
        // process.emitWarning; both go to stderr.
        if (args.path === 'yaml' && args.kind === 'import-statement') return { path: YAML_ESM_BUILD };
        // import() stays Node's own (its CommonJS interop gives the package's named exports; esbuild's namespace
        // of a bare CommonJS module would hold `default` only); it runs only when that lazy path does.
        // A CommonJS output require()s every external package by itself; an ES-module package that way would
        // need require(esm), which Node 20 has only from 20.19 on.
        if (format === 'cjs' && args.kind === 'import-statement' && !commonJs(args.path)) {
          return { errors: [{ text: `${args.path} is an ES module: in the daemon's CommonJS build, import it with await import('${args.path}')` }] };
        }
        if (format === 'cjs' || args.kind === 'require-call' || args.kind === 'dynamic-import' || !commonJs(args.path)) return { path: args.path, external: true };
        return { path: args.path, namespace: 'require-commonjs' };
      });
      build.onLoad({ filter: /.*/, namespace: 'require-commonjs' }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(args.path)});`,
        loader: 'js',
        resolveDir: ROOT,
      }));
    },
  };
}

/** Text that may be an import() (or only reads like one, in a comment): scripts/code-cache.mjs compiles such a module uncached. */
export const MAY_IMPORT = /\bimport\s*\(/;

/**
 * A CommonJS output's `import("pkg")` (the lazily loaded packages: aedes, prom-client, serialport) made a call
 * to scripts/import-package.cjs, whose import() works where the bundle's own would not: the bundle is compiled
 * from a V8 code cache (see there). Every import() of the output must be one of these: the build fails otherwise.
 */
function importThroughHelper(text) {
  const rewritten = text.replace(/\bimport\(("[^"./][^"]*")\)/g, '__importPackage($1)');
  const left = MAY_IMPORT.exec(rewritten);
  if (left) {
    const line = rewritten.slice(0, left.index).split('\n').length;
    throw new Error(`build failed (scripts/build.mjs): the daemon's CommonJS build has \`import(\` of something other than a package name, or in a comment, at mqtt-sn-gateway.cjs:${line}: its code could not be cached (scripts/code-cache.mjs)`);
  }
  return rewritten;
}

/**
 * The output with every non-ASCII character (esbuild escapes them in code, not in the comments it keeps, such
 * as `→` and `§`) replaced by `?`, one per UTF-16 unit so that no column moves under the source maps: V8 keeps a
 * module's source text, and one non-ASCII character makes it two bytes a character, the whole bundle's.
 */
function asciiOnly(text) {
  return text.replace(/[^\x00-\x7f]/g, '?');
}

/** What the current build says about itself, or undefined when there is none. */
function readCurrent() {
  try {
    return JSON.parse(readFileSync(CURRENT, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The file's size and mtime: a change to either means the build is stale. */
function stamp(path) {
  const s = statSync(path);
  return `${s.size}:${s.mtimeMs}`;
}

/** True when the current build exists and every file it was made from is as it was then. */
export function isFresh(current = readCurrent()) {
  if (!current || typeof current.inputs !== 'object' || typeof current.build !== 'string') return false;
  for (const name of Object.keys(ENTRIES)) if (!existsSync(join(DIST, current.build, outputFile(name)))) return false;
  for (const [path, recorded] of Object.entries(current.inputs)) {
    try {
      if (stamp(join(ROOT, path)) !== recorded) return false;
    } catch {
      return false; // removed or renamed
    }
  }
  return true;
}

/** Builds into a new dist/<build>/ and makes it current; returns what current.json now says. */
export async function build() {
  const previous = readCurrent()?.build;
  const { build: esbuild } = await import('esbuild');
  const name = `build-${Date.now().toString(36)}-${process.pid}`;
  const outdir = join(DIST, name);
  mkdirSync(outdir, { recursive: true });
  const formats = [...new Set(Object.values(ENTRIES).map((entry) => entry.format))];
  const results = await Promise.all(formats.map((format) => esbuild({
    absWorkingDir: ROOT,
    entryPoints: Object.entries(ENTRIES).filter(([, entry]) => entry.format === format).map(([out, entry]) => ({ in: entry.source, out })),
    outdir,
    outExtension: format === 'cjs' ? { '.js': '.cjs' } : {},
    bundle: true,
    splitting: format === 'esm',
    format,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    write: false, // written below, ASCII only
    logLevel: 'silent',
    chunkNames: '[name]-[hash]',
    // require() for the CommonJS packages (requireCommonJsPlugin): esbuild's own `require` shim throws in an ES module.
    banner: format === 'esm'
      ? { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" }
      // "use strict" first, as esbuild's own would be: after the banner's line it would not be a directive.
      : { js: `"use strict";\nconst __importPackage = require(${JSON.stringify(relative(outdir, IMPORT_PACKAGE))});` },
    plugins: [sourceDirnamePlugin(outdir, format), requireCommonJsPlugin(format)],
  }))).catch(async (err) => {
    rmSync(outdir, { recursive: true, force: true });
    const { formatMessages } = await import('esbuild');
    const text = err.errors ? (await formatMessages(err.errors, { kind: 'error' })).join('') : String(err);
    throw new Error(`build failed (scripts/build.mjs):\n${text}`);
  });
  for (const file of results.flatMap((result) => result.outputFiles)) {
    mkdirSync(dirname(file.path), { recursive: true });
    const text = file.path.endsWith('.cjs') ? importThroughHelper(file.text) : file.text;
    writeFileSync(file.path, /\.c?js$/.test(file.path) ? asciiOnly(text) : file.contents);
  }
  const inputs = {};
  // Virtual modules (`require-commonjs:mqtt`) are no files: the package is external, not part of the build.
  const files = [...new Set(results.flatMap((result) => Object.keys(result.metafile.inputs)))].filter((path) => !/^[a-z-]+:/.test(path));
  for (const path of [...files, ...BUILD_INPUTS]) inputs[path] = stamp(join(ROOT, path));
  const current = { build: name, inputs };
  const next = `${CURRENT}.${process.pid}.tmp`;
  writeFileSync(next, JSON.stringify(current, null, 1));
  renameSync(next, CURRENT);
  removeOldBuilds([name, previous]);
  return current;
}

function removeOldBuilds(keep) {
  for (const entry of readdirSync(DIST)) {
    if (!entry.startsWith('build-') || keep.includes(entry)) continue;
    const path = join(DIST, entry);
    try {
      if (Date.now() - statSync(path).mtimeMs > BUILD_IN_PROGRESS_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // Another build removed it first.
    }
  }
}

/**
 * The URL of the built `name` (a key of ENTRIES) to import: the current build when it is fresh, otherwise a
 * new one. A developer who edited a .ts file never runs stale output. Stack traces then name .ts lines.
 */
export async function builtEntry(name) {
  let current = readCurrent();
  if (!isFresh(current)) {
    try {
      current = await build();
    } catch (err) {
      // The bins stop here, saying why: running the stale build would run code that is not the source's.
      process.stderr.write(`${name}: the build in ${DIST} is missing or older than the sources, and rebuilding it failed (run \`npm run build\` there): ${err.code ? `${err.code}: ` : ''}${err.message}\n`);
      process.exit(1);
    }
  }
  sourceStackTraces(join(DIST, current.build));
  return pathToFileURL(join(DIST, current.build, outputFile(name))).href;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  build().then(
    (current) => process.stdout.write(`built ${relative(ROOT, join(DIST, current.build))}/ (${Object.keys(ENTRIES).join(', ')}) in ${Math.round(performance.now() - started)} ms\n`),
    (err) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    },
  );
}
