// The second step of `npm run build`, after tsc: the CLI as one file and its V8 code cache.
//   dist/cli/bundle.cjs         src/cli/main.ts and everything it loads (eventemitter3 too), bundled by esbuild
//   dist/cli.cjs                the bin: scripts/cli-loader.cjs, which runs the bundle with the cache
//   dist/cli/bundle.cjs.v8-cache V8's code for the bundle after a warm-up run (`--help`, then a connect to
//                               a socket that does not exist), so the functions every command runs come compiled
//   dist/cli/bundle.cjs.v8-cache.key  the V8 (and platform) that cache is for: another node makes its own on
//                               first use, in the user's cache dir (scripts/cli-loader.cjs)
// Why: docs/design.md, "The CLI bundle". The library keeps tsc's ES modules and .d.ts (dist/src).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { copyFileSync, chmodSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(root, 'dist');
await build({
  entryPoints: [path.join(root, 'src', 'cli', 'main.ts')],
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  outfile: path.join(dist, 'cli', 'bundle.cjs'),
  logLevel: 'warning',
});
const bin = path.join(dist, 'cli.cjs');
copyFileSync(path.join(root, 'scripts', 'cli-loader.cjs'), bin);
chmodSync(bin, 0o755);

// The warm-up runs in a node of its own, compiling the bundle exactly as the bin does, and writes V8's
// cache at its exit; each run starts from the cache of the one before, so the cache holds what all compiled.
const warmUp = `
const { readFileSync, rmSync, writeFileSync } = require('node:fs');
const loader = require(${JSON.stringify(bin)});
let cached;
try { cached = readFileSync(loader.buildCacheFile); } catch {}
const script = loader.compile(cached);
process.on('exit', () => {
  rmSync(loader.buildCacheFile, { force: true });
  writeFileSync(loader.buildCacheFile, script.createCachedData(), { flag: 'wx', mode: 0o644 });
});
process.argv.splice(2, Infinity, ...JSON.parse(process.env.QMPBJ_WARM_UP_ARGS));
loader.run(script);
`;
rmSync(path.join(dist, 'cli', 'bundle.cjs.v8-cache'), { force: true });
rmSync(path.join(dist, 'cli', 'bundle.cjs.v8-cache.key'), { force: true });
for (const args of [['--help'], ['--socket', path.join(dist, 'cli', 'no-such-socket'), '--connect-timeout', '0.5', 'blocks']]) {
  const result = spawnSync(process.execPath, ['-e', warmUp], {
    env: { ...process.env, QMPBJ_WARM_UP_ARGS: JSON.stringify(args) },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.error || result.signal)
    throw new Error(`the CLI's warm-up run (${args.join(' ')}) failed: ${result.error?.message ?? result.signal}: ${result.stderr}`);
}
const builtLoader = createRequire(import.meta.url)(bin);
// Written last: a cache is only ever used with the key of the node that made it, for this very bundle.
writeFileSync(path.join(dist, 'cli', 'bundle.cjs.v8-cache.key'), `${builtLoader.cacheKey(builtLoader.readSource())}\n`, { flag: 'wx', mode: 0o644 });
