// package.json's bin is the loader `npm run build` makes (scripts/build-cli.mjs): one bundled file that
// needs nothing from node_modules, and a V8 code cache this node accepts, so the CLI's start-up is the
// bundle's, not a module graph's (docs/design.md, "The CLI bundle").
import { readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import path from 'node:path';
import t from 'tap';
import { repoRoot } from '../helpers/qemu.js';

const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const bin = path.join(repoRoot, pkg.bin['qmp-blockjob']!);
const loader = createRequire(import.meta.url)(bin) as {
  compile(cachedData: Buffer | undefined): { cachedDataRejected?: boolean };
  cacheFile: string;
};

t.equal(path.relative(repoRoot, bin), path.join('dist', 'cli.cjs'), 'the bin should be the loader of the bundle');
t.test('the bundle needs nothing but node', async (t) => {
  const bundle = readFileSync(path.join(path.dirname(loader.cacheFile), 'bundle.cjs'), 'utf8');
  const required = [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!);
  t.ok(required.length > 0, 'the bundle should load node built-ins');
  const builtins = new Set(builtinModules);
  t.same(required.filter((id) => !builtins.has(id.replace(/^node:/, ''))), [], 'every require in the bundle should be a node built-in');
  t.notMatch(bundle, /\bimport\(/, 'no dynamic import should be left for node to resolve');
});
t.test("the build's code cache is accepted by this node", async (t) => {
  const script = loader.compile(readFileSync(loader.cacheFile));
  t.equal(script.cachedDataRejected, false, 'V8 should accept the cache made at build time');
});
