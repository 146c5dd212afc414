/**
 * A V8 code cache for the CommonJS modules a process loads at start-up (the daemon's bundle and the packages it
 * requires): what `v8-compile-cache` does, with the cache in one file of our choosing and made after start-up.
 *
 *   const cache = startupCodeCache(file);   // before the first require() it should cover
 *   ...start-up...
 *   cache.save();                           // once started: every module compiled so far, lazily compiled functions included
 *
 * Node 20 compiles each CommonJS file from its text at every start (Node 22's module.enableCompileCache does what
 * this does). Compiled here through vm.Script with the bytecode V8 serialized at an earlier start, a module skips
 * parsing and compiling: V8 checks the cache against its own version, its flags and the source's length, and
 * rejects one that does not fit (`cachedDataRejected`), compiling from the text as usual. We check the rest: an
 * entry is used only for the same path with the same text (a hash of it). It also keeps which file each
 * require() found (Node's search costs stats and package.json reads), used again while npm's lock files are
 * as they were and the file is still there.
 *
 * Why not the `v8-compile-cache` package: it caches into os.tmpdir() (gone at each boot of a Pi with a tmpfs /tmp,
 * and not what a read-only systemd service may write), saves at process exit (a daemon's exit may be days away,
 * or a kill), serializes each module as compiled (without the functions compiled lazily during start-up), and its
 * vm.Script fails at import() once compiled from its cache (below).
 *
 * Nothing here may stop a start: a cache that cannot be read, parsed or written is ignored.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { basename, dirname, isAbsolute, join } from 'node:path';
import vm from 'node:vm';
import { MAY_IMPORT } from './build.mjs';

const MAGIC = 'mqtt-sn-gateway code cache 2';
const ROOT = join(import.meta.dirname, '..');

/**
 * What npm installed: its lock file and node_modules' own (rewritten at every install, update or ci). Resolutions
 * kept under another stamp are not used: a package may have moved its files.
 */
function installStamp() {
  return ['package-lock.json', 'node_modules/.package-lock.json'].map((path) => {
    try {
      const s = statSync(join(ROOT, path));
      return `${s.size}:${s.mtimeMs}`;
    } catch {
      return 'none';
    }
  }).join('|');
}

/**
 * What the cache did for this process. MQTTSN_CODE_CACHE_STATS=<file> has it written there as JSON once
 * start-up is over (save()): how the tests see the cache used or ignored, without timing anything.
 */
export const codeCacheStats = { file: '', read: false, accepted: 0, rejected: 0, missing: 0, uncacheable: 0, resolved: 0, resolvedAnew: 0, saved: 0, saveError: '' };

/**
 * Where the cache of the built `entry` lives: beside it (dist/ is ours, and a new build starts a new cache),
 * or in systemd's CacheDirectory= when the service has one (the install is read-only there: deploy/).
 */
export function codeCacheFile(entry) {
  const cacheDirectory = process.env.CACHE_DIRECTORY?.split(':')[0];
  if (cacheDirectory) return join(cacheDirectory, `${basename(dirname(entry))}-${basename(entry)}.codecache`);
  return `${entry}.codecache`;
}

/** The cache's index: path → [text hash, offset, length] of its bytes in the blob. */
function readCache(file) {
  try {
    const bytes = readFileSync(file);
    const headerLength = bytes.readUInt32LE(0);
    const header = JSON.parse(bytes.toString('utf8', 4, 4 + headerLength));
    if (header.magic !== MAGIC || header.node !== process.version || header.arch !== process.arch) return undefined;
    const resolutions = header.installStamp === installStamp() ? header.resolutions : {};
    return { index: header.index, resolutions, blob: bytes.subarray(4 + headerLength) };
  } catch {
    return undefined; // none yet, unreadable or damaged: compile from the text
  }
}

const hashOf = (text) => createHash('sha1').update(text).digest('base64');

export function startupCodeCache(file) {
  codeCacheStats.file = file;
  let cache = readCache(file);
  codeCacheStats.read = cache !== undefined;
  /** Every module compiled here, to serialize at save(). */
  const compiled = [];
  const originalCompile = Module.prototype._compile;
  const originalResolve = Module._resolveFilename;
  /** `directory of the requiring module \0 request` → the file it resolved to, this start. */
  const resolutions = {};

  // Resolving a require() costs Node several stats and package.json reads (about 30 ms of a start for 280
  // requires); the file found at an earlier start under the same install is taken again if it is still there.
  Module._resolveFilename = function resolveWithCache(request, parent, isMain, options) {
    if (options !== undefined || !parent?.filename) return originalResolve.call(this, request, parent, isMain, options);
    const key = `${dirname(parent.filename)}\0${request}`;
    const known = cache?.resolutions[key];
    if (known !== undefined && (Module._cache[known] !== undefined || existsSync(known))) {
      codeCacheStats.resolved++;
      resolutions[key] = known;
      return known;
    }
    const filename = originalResolve.call(this, request, parent, isMain, options);
    // Node's own modules (`events`) stay Node's to find.
    if (isAbsolute(filename)) {
      codeCacheStats.resolvedAnew++;
      resolutions[key] = filename;
    }
    return filename;
  };

  Module.prototype._compile = function compileWithCache(content, filename, format) {
    if (format === 'module' || !/\.c?js$/.test(filename)) return originalCompile.call(this, content, filename, format);
    // Code compiled from a cache has lost what import() needs in Node 20 (Node's host-defined options: the
    // import() fails), so a module that may call it is compiled by Node itself (the daemon's bundle calls
    // scripts/import-package.cjs instead: scripts/build.mjs).
    if (MAY_IMPORT.test(content)) {
      codeCacheStats.uncacheable++;
      return originalCompile.call(this, content, filename, format);
    }
    const hash = hashOf(content);
    const entry = cache?.index[filename];
    const cachedData = entry && entry[0] === hash ? cache.blob.subarray(entry[1], entry[1] + entry[2]) : undefined;
    let script;
    try {
      script = new vm.Script(Module.wrap(content), { filename, cachedData });
    } catch {
      // Not CommonJS after all (or a syntax error): Node's own path says which, as it would without us.
      return originalCompile.call(this, content, filename, format);
    }
    if (!cachedData) codeCacheStats.missing++;
    else if (script.cachedDataRejected) codeCacheStats.rejected++;
    else codeCacheStats.accepted++;
    compiled.push({ filename, hash, script });
    const wrapper = script.runInThisContext({ displayErrors: true });
    const module = this;
    const require = (id) => module.require(id);
    require.resolve = (request, options) => Module._resolveFilename(request, module, false, options);
    require.resolve.paths = (request) => Module._resolveLookupPaths(request, module);
    require.main = process.mainModule;
    require.extensions = Module._extensions;
    require.cache = Module._cache;
    return Reflect.apply(wrapper, this.exports, [this.exports, require, this, filename, dirname(filename)]);
  };

  const writeStats = () => {
    const statsFile = process.env.MQTTSN_CODE_CACHE_STATS;
    if (!statsFile) return;
    writeFileSync(`${statsFile}.tmp`, JSON.stringify(codeCacheStats));
    renameSync(`${statsFile}.tmp`, statsFile); // whole when it appears
  };

  return {
    /**
     * Start-up is over: writes every module compiled so far to the cache, unless all came from it, and stops
     * (modules loaded later, such as prom-client at the first scrape, compile as usual). Never throws.
     */
    save() {
      Module.prototype._compile = originalCompile;
      Module._resolveFilename = originalResolve;
      try {
        if (compiled.length > 0 && (codeCacheStats.rejected > 0 || codeCacheStats.missing > 0 || codeCacheStats.resolvedAnew > 0)) {
          writeCache(file, compiled, resolutions);
          codeCacheStats.saved = compiled.length;
        }
      } catch (err) {
        codeCacheStats.saveError = String(err.message); // e.g. a read-only install: every start compiles from the text, as without a cache
      } finally {
        compiled.length = 0; // the Scripts, and the cache's bytes, may go
        cache = undefined;
      }
      try {
        writeStats();
      } catch {
        // a diagnostic only
      }
    },
  };
}

/** One file: a 4-byte header length, the header (JSON: what made the cache, and the index), the entries' bytes. */
function writeCache(file, compiled, resolutions) {
  const index = {};
  const parts = [];
  let offset = 0;
  for (const { filename, hash, script } of compiled) {
    const data = script.createCachedData();
    index[filename] = [hash, offset, data.length];
    parts.push(data);
    offset += data.length;
  }
  const header = Buffer.from(JSON.stringify({ magic: MAGIC, node: process.version, arch: process.arch, index, installStamp: installStamp(), resolutions }));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(header.length);
  // Written aside and renamed: two daemons starting at once each write a whole cache, and the last one stays.
  const next = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(next, Buffer.concat([length, header, ...parts]));
    renameSync(next, file);
  } catch (err) {
    rmSync(next, { force: true });
    throw err;
  }
  // The caches of earlier builds, in a CacheDirectory shared by every build (beside a build there is only its own).
  for (const other of readdirSync(dirname(file))) {
    if (other.endsWith('.codecache') && other !== basename(file)) rmSync(join(dirname(file), other), { force: true });
  }
}
