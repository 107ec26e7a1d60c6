// test/embedder is a package of its own that depends on qmp-blockjob as an embedder does: the library
// is packed (npm pack) and unpacked into its node_modules, so only package.json "exports" reach it.
// Its programs type-check under strict + exactOptionalPropertyTypes + NodeNext with no cast, no
// `any` and no `internal`, then run: the seed procedure, a signal-cancelled commit, typed errors, a
// full state history, reattach (on real QEMU, data checked) and a unit test on mock-qmp.
import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { compareImages } from '../src/transport/qemu-img.js';
import { buildSeedChain } from './helpers/chain.js';
import { driveArgs, flatCopy } from './helpers/jobs.js';
import { installPackedLibrary, typeCheck } from './helpers/packed-library.js';
import { fixturePath, fixtureSets, repoRoot, startQemu, tempDir } from './helpers/qemu.js';

const source = path.join(repoRoot, 'test', 'embedder');
const app = path.join(tempDir(t), 'app');

t.before(() => {
  cpSync(source, app, { recursive: true, filter: (from) => !from.includes(`${path.sep}dist`) });
  installPackedLibrary(app);
});

const run = (program: string, args: string[]): Record<string, unknown> => {
  const out = spawnSync(process.execPath, [path.join(app, 'dist', `${program}.js`), ...args], { cwd: app, encoding: 'utf8', timeout: 90_000 });
  if (out.status !== 0) throw new Error(`${program} exited ${out.status}: ${out.stderr}`);
  return JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
};

t.test('the programs use no cast, no any, no internal, and type-check strictly', (t) => {
  for (const file of readdirSync(path.join(app, 'src'))) {
    const code = readFileSync(path.join(app, 'src', file), 'utf8').replace(/^\s*\/\/.*$/gm, '');
    t.notMatch(code, /\bany\b/, `${file}: no any`);
    t.notMatch(code, /\bas\s+(?!const\b)[\w{[(]/, `${file}: no cast`);
    t.notMatch(code, /qmp-blockjob\/internal|\.\.\/|dist\/src/, `${file}: the library by name only`);
  }
  const tsc = typeCheck(app);
  t.equal(tsc.status, 0, `tsc: ${tsc.output}`);
  t.end();
});

async function qemuOnSeedChain(t: Test): Promise<{ socket: string; files: string[]; flat: string }> {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const flat = await flatCopy(dir, layers);
  const socket = path.join(dir, 'embedder.sock');
  // The harness keeps the first monitor; the program gets its own.
  await startQemu(t, { dir, args: [...driveArgs(layers), '-qmp', `unix:${socket},server=on,wait=off`] });
  return { socket, files: layers.map((l) => l.file), flat };
}

t.test('the seed procedure', async (t) => {
  const { socket, files, flat } = await qemuOnSeedChain(t);
  const said = run('seed', [socket, 'drive0']);
  t.match(said, { intermediate: 'completed', active: 'pivoted', chain: [files[0]] }, 'intermediate commit, then active commit pivoted onto base');
  t.ok(await compareImages(files[0]!, flat, { forceShare: true }), 'base holds the guest view');
});

t.test('a commit cancelled by a signal', async (t) => {
  const { socket, files, flat } = await qemuOnSeedChain(t);
  const said = run('cancel', [socket, 'drive0']);
  t.match(said, { outcome: 'aborted', guestOn: files[3] }, 'cancelled, the guest on top');
  t.ok((said.readings as number) >= 1, 'progress was read as an async iterator until the end');
  t.ok(await compareImages(files[3]!, flat, { forceShare: true }), 'the guest view is unchanged');
});

t.test('typed errors', async (t) => {
  const { socket } = await qemuOnSeedChain(t);
  t.same(
    run('errors', [socket, 'drive0']),
    { disk: 'DiskNotFoundError', command: 'CommandNotFound no-such-command', busy: '1000', pivot: 'running pivot', cancel: 'aborted' },
    'each error caught by its class with its facts',
  );
});

t.test('a full state history', async (t) => {
  const { socket } = await qemuOnSeedChain(t);
  const said = run('history', [socket, 'drive0']);
  t.same(
    (said.states as string[]).filter((s, i, all) => !(s === 'paused' && all[i + 1] === 'running') && !(s === 'running' && all[i - 1] === 'paused' && i > 1)),
    ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'],
    `every state from created on (${String(said.states)})`,
  );
  t.equal(said.readyLen, said.completedLen, 'typed event data: READY and COMPLETED carry the same len');
});

t.test('reattach', async (t) => {
  const { socket, files, flat } = await qemuOnSeedChain(t);
  t.match(run('reattach', [socket, 'drive0']), { sameId: true, outcome: 'pivoted' }, 'the next controller found the job and pivoted it');
  t.ok(await compareImages(files[0]!, flat, { forceShare: true }), 'base holds the guest view');
});

t.test('a unit test on mock-qmp', async (t) => {
  const trace = path.join(fixturePath('', fixtureSets()[0]), 'raw', 'active-commit-pivot.jsonl');
  t.same(
    run('mock', [trace]),
    { outcome: 'pivoted', before: ['base', 'a', 'b', 'c'], after: ['base'] },
    'the model of a recorded commit, through the packed mock-qmp',
  );
});
