// The code cache a node makes on its first run of the CLI (scripts/cli-loader.cjs) is this user's
// alone: a 0700 directory, a 0600 file, written under a fresh name and renamed, so a link planted where
// the cache goes is replaced, never written through; a directory others can write is not used at all.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../helpers/qemu.js';

const bin = path.join(repoRoot, 'dist', 'cli.cjs');
const loader = createRequire(import.meta.url)(bin) as {
  userCacheFile(source: string, env: NodeJS.ProcessEnv): string;
  writeCache(file: string, data: Buffer): boolean;
  readSource(): string;
};

function freshDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qbj-cache-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('the first run writes a 0600 file in a 0700 directory of this user', async (t) => {
  const cacheDir = path.join(freshDir(t), 'deeper', 'qmp-blockjob');
  const file = loader.userCacheFile(loader.readSource(), { QMPBJ_CACHE_DIR: cacheDir });
  t.ok(loader.writeCache(file, Buffer.from('cache')), 'written');
  t.equal(lstatSync(cacheDir).mode & 0o777, 0o700, 'the directory is 0700');
  t.equal(lstatSync(file).mode & 0o777, 0o600, 'the file is 0600');
  t.same(readdirSync(cacheDir), [path.basename(file)], 'no temporary file is left');
});

t.test('a link where the cache goes is replaced, its target untouched', async (t) => {
  const dir = freshDir(t);
  const cacheDir = path.join(dir, 'qmp-blockjob');
  mkdirSync(cacheDir, { mode: 0o700 });
  const victim = path.join(dir, 'victim');
  writeFileSync(victim, 'precious');
  const file = loader.userCacheFile(loader.readSource(), { QMPBJ_CACHE_DIR: cacheDir });
  symlinkSync(victim, file);
  t.ok(loader.writeCache(file, Buffer.from('cache')), 'written');
  t.equal(readFileSync(victim, 'utf8'), 'precious', "the link's target is unchanged");
  t.notOk(lstatSync(file).isSymbolicLink(), 'the link itself was replaced by the cache file');
});

t.test('a cache directory that others can write, or that is a link, is not used', async (t) => {
  const dir = freshDir(t);
  const open = path.join(dir, 'open');
  mkdirSync(open);
  chmodSync(open, 0o777);
  const file = loader.userCacheFile(loader.readSource(), { QMPBJ_CACHE_DIR: open });
  t.notOk(loader.writeCache(file, Buffer.from('cache')), 'refused');
  t.notOk(existsSync(file), 'nothing written there');
  const real = path.join(dir, 'real');
  mkdirSync(real, { mode: 0o700 });
  const link = path.join(dir, 'link');
  symlinkSync(real, link);
  t.notOk(loader.writeCache(loader.userCacheFile(loader.readSource(), { QMPBJ_CACHE_DIR: link }), Buffer.from('cache')), 'a linked directory is refused');
  t.same(readdirSync(real), [], 'nothing written through the link');
  // And the CLI still runs there, without a cache.
  const run = spawnSync(process.execPath, [bin, '--version'], { env: { ...process.env, QMPBJ_CACHE_DIR: open }, encoding: 'utf8', timeout: 30_000 });
  t.equal(run.status, 0, `the CLI runs: ${run.stderr}`);
});
