#!/usr/bin/env node
// The qmp-blockjob command (package.json's bin, copied to dist/cli.cjs by scripts/build-cli.mjs): runs
// the bundled CLI (dist/cli/bundle.cjs) with a V8 code cache, so that node neither parses the bundle nor
// compiles its start-up functions again (docs/design.md, "The CLI bundle").
//
// A code cache is only good for the V8 that made it (another node rejects it), so it is keyed by V8's
// version, the platform and the bundle's own hash (V8 itself compares only the source's length):
//   1. the cache the build made beside the bundle, when the building node's key is this node's;
//   2. else this user's cache (QMPBJ_CACHE_DIR, else $XDG_CACHE_HOME/qmp-blockjob, else
//      ~/.cache/qmp-blockjob), written at the exit of the first run on this node.
// The user's cache dir is made 0700 and used only when it is a real directory of this user that no one
// else can write; the file is written 0600 under a fresh name (never over an existing one, never through
// a link) and renamed into place. Any failure there only costs the saving: the bundle is compiled as any
// script.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createHash } = require('node:crypto');
const { Script } = require('node:vm');

const bundle = path.join(__dirname, 'cli', 'bundle.cjs');
/** This node's V8 and platform: what a code cache must match. */
const key = `${process.versions.v8}-${process.platform}-${process.arch}`.replace(/[^A-Za-z0-9._-]/g, '_');
/** The build's cache (made by the building node, for its own key). */
const buildCacheFile = `${bundle}.v8-cache`;
const buildKeyFile = `${bundle}.v8-cache.key`;

function readSource() {
  return fs.readFileSync(bundle, 'utf8').replace(/^#!.*/, '');
}

/** The bundle as one CommonJS module function, compiled with `cachedData` when given. */
function compile(cachedData, source = readSource()) {
  return new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: bundle, cachedData });
}

function run(script) {
  script.runInThisContext()(exports, require, module, bundle, path.dirname(bundle));
}

function userCacheDir(env = process.env) {
  if (env.QMPBJ_CACHE_DIR) return env.QMPBJ_CACHE_DIR;
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'qmp-blockjob');
}

/** The bundle's own hash: V8 checks only a source's length against a cache, so an edited bundle of the same length would run stale code. */
function sourceHash(source) {
  return createHash('sha256').update(source).digest('hex').slice(0, 16);
}

/** What a cache must match: this node's V8 and platform, and this very bundle. */
function cacheKey(source) {
  return `${key}-${sourceHash(source)}`;
}

/** The user's cache file for this node and this bundle. */
function userCacheFile(source, env = process.env) {
  return path.join(userCacheDir(env), `cli-${sourceHash(source)}-${key}.v8-cache`);
}

/** The directory, when it is safe to use: a real directory (no link), this user's, writable by no one else. */
function safeDir(dir, create) {
  if (create) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  return st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0;
}

/** The file's bytes when it is a regular file of this user, opened without following a link; else undefined. */
function readOwnFile(file) {
  let fd;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
    const st = fs.fstatSync(fd);
    const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
    if (!st.isFile() || st.uid !== uid) return undefined;
    return fs.readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Writes `data` as `file`: a fresh 0600 file beside it (O_EXCL: never an existing file or link), then renamed. */
function writeCache(file, data) {
  const dir = path.dirname(file);
  if (!safeDir(dir, true)) return false;
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 8)}`);
  try {
    fs.writeFileSync(tmp, data, { flag: 'wx', mode: 0o600 });
    fs.renameSync(tmp, file);
    return true;
  } catch {
    fs.rmSync(tmp, { force: true });
    return false;
  }
}

/** Which cache this node uses, and how: `build` (the build's), `user` (read), `create` (none yet: written at exit). */
function chooseCache(source, env = process.env) {
  let buildKey;
  try {
    buildKey = fs.readFileSync(buildKeyFile, 'utf8').trim();
  } catch {
    buildKey = undefined;
  }
  if (buildKey === cacheKey(source)) {
    try {
      return { kind: 'build', file: buildCacheFile, data: fs.readFileSync(buildCacheFile) };
    } catch {
      // No build cache after all: as for another node.
    }
  }
  if (env.QMPBJ_NO_CODE_CACHE) return { kind: 'none' };
  const file = userCacheFile(source, env);
  let data;
  try {
    if (safeDir(path.dirname(file), false)) data = readOwnFile(file);
  } catch {
    data = undefined; // no cache dir yet
  }
  return data ? { kind: 'user', file, data } : { kind: 'create', file };
}

function main() {
  const source = readSource();
  const cache = chooseCache(source);
  const script = compile('data' in cache ? cache.data : undefined, source);
  if (cache.kind === 'create' || (cache.kind === 'user' && script.cachedDataRejected)) {
    // At exit the start-up functions this run compiled are in V8's cache too. Once per node and bundle.
    process.once('exit', () => {
      try {
        writeCache(cache.file, script.createCachedData());
      } catch {
        // The saving is lost, nothing else.
      }
    });
  }
  run(script);
}

if (require.main === module) {
  main();
} else {
  module.exports = { compile, run, key, cacheKey, buildCacheFile, buildKeyFile, chooseCache, userCacheFile, userCacheDir, writeCache, readSource };
}
