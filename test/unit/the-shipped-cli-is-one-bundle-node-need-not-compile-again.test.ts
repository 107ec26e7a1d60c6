// package.json's bin is the loader `npm run build` makes (scripts/build-cli.mjs): one bundled file that
// needs nothing from node_modules, and a V8 code cache this node accepts, so the CLI's start-up is the
// bundle's, not a module graph's (docs/design.md, "The CLI bundle").
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../helpers/qemu.js';

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const bin = path.join(repoRoot, pkg.bin['qmp-blockjob']!);
const loader = createRequire(import.meta.url)(bin) as {
  compile(cachedData: Buffer | undefined): { cachedDataRejected?: boolean };
  chooseCache(source: string, env: NodeJS.ProcessEnv): { kind: 'build' | 'user' | 'create' | 'none'; file?: string; data?: Buffer };
  readSource(): string;
  buildCacheFile: string;
  buildKeyFile: string;
  key: string;
  cacheKey(source: string): string;
};

t.equal(path.relative(repoRoot, bin), path.join('dist', 'cli.cjs'), 'the bin should be the loader of the bundle');
t.test('the bundle needs nothing but node', async (t) => {
  const bundle = readFileSync(path.join(path.dirname(loader.buildCacheFile), 'bundle.cjs'), 'utf8');
  const required = [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!);
  t.ok(required.length > 0, 'the bundle should load node built-ins');
  const builtins = new Set(builtinModules);
  t.same(
    required.filter((id) => !builtins.has(id.replace(/^node:/, ''))),
    [],
    'every require in the bundle should be a node built-in',
  );
  t.notMatch(bundle, /\bimport\(/, 'no dynamic import should be left for node to resolve');
});
// Whichever node built the package: the build's cache when it is this node's, else the one this node
// made on its first run (in the user's cache dir; here a fresh one), is accepted by this node's V8.
t.test('the code cache this node runs the CLI with is accepted by it', async (t) => {
  const env: NodeJS.ProcessEnv = { ...process.env, QMPBJ_CACHE_DIR: path.join(mkdtempSync(path.join(os.tmpdir(), 'qbj-cache-')), 'qmp-blockjob') };
  delete env.QMPBJ_NO_CODE_CACHE;
  t.teardown(() => rmSync(path.dirname(env.QMPBJ_CACHE_DIR!), { recursive: true, force: true }));
  const source = loader.readSource();
  const built = readFileSync(loader.buildKeyFile, 'utf8').trim();
  const first = loader.chooseCache(source, env);
  t.equal(
    first.kind,
    built === loader.cacheKey(source) ? 'build' : 'create',
    `the build's cache is for ${built}, this node and bundle are ${loader.cacheKey(source)}`,
  );
  if (first.kind === 'create') {
    const run = spawnSync(process.execPath, [bin, '--version'], { env, encoding: 'utf8', timeout: 30_000 });
    t.equal(run.status, 0, `the first run on this node works without a cache: ${run.stderr}`);
  }
  const now = loader.chooseCache(source, env);
  t.equal(now.kind, built === loader.cacheKey(source) ? 'build' : 'user', 'from then on a cache for this node is used');
  t.equal(loader.compile(now.data).cachedDataRejected, false, 'and V8 accepts it');
  const again = spawnSync(process.execPath, [bin, '--version'], { env, encoding: 'utf8', timeout: 30_000 });
  t.equal(again.status, 0, 'the CLI runs with it');
  t.equal(
    again.stdout,
    spawnSync(process.execPath, [bin, '--version'], { env: { ...env, QMPBJ_NO_CODE_CACHE: '1' }, encoding: 'utf8' }).stdout,
    'and says what it says without one',
  );
});

// V8 accepts a cache for any source of the same length: an edited bundle must not run the old code.
t.test('a bundle edited to the same length does not run with the cache of the one before', async (t) => {
  const source = loader.readSource();
  const edited = source.replace(/qmp-blockjob/, (m) => m.toUpperCase());
  t.not(edited, source, 'the edit should change the bundle');
  t.equal(edited.length, source.length, 'without changing its length');
  t.not(loader.cacheKey(edited), loader.cacheKey(source), 'the cache key should tell the two bundles apart');
  const env: NodeJS.ProcessEnv = { ...process.env, QMPBJ_CACHE_DIR: path.join(mkdtempSync(path.join(os.tmpdir(), 'qbj-cache-')), 'qmp-blockjob') };
  t.teardown(() => rmSync(path.dirname(env.QMPBJ_CACHE_DIR!), { recursive: true, force: true }));
  t.not(loader.chooseCache(edited, env).kind, 'build', "the build's cache should not be chosen for the edited bundle");
});
