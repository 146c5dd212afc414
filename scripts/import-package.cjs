// import() for the daemon's CommonJS bundle (scripts/build.mjs rewrites its `import("pkg")` to call this). The
// bundle is compiled from a V8 code cache (scripts/code-cache.mjs), and in Node 20 code deserialized from a
// cache has lost what import() needs (Node's host-defined options): there it fails. Node compiles this file
// itself, so its import() works, and resolves packages from the project's node_modules as the bundle's would.
module.exports = (specifier) => import(specifier);
