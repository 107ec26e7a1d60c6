// `pull` (virsh blockpull, QMP block-stream) on the seed chain through the CLI: the whole chain into
// the active image, or only the images above a base named by index, file or node; --delete removes
// exactly what left the chain; abort and an I/O error leave the chain as it was; --keep-relative
// keeps the active image's backing link relative. Data is read back with qemu-io every time.
import { existsSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { qemuIo, resolveDisk } from '../src/internal.js';
import { imageChain } from '../src/transport/qemu-img.js';
import { buildRelativeChain, buildSeedChain, expectedView, readChecks, type Layer } from './helpers/chain.js';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';
import { blkdebugChainArgs } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';

async function guest(t: Test, build: (dir: string) => Promise<Layer[]> = buildSeedChain) {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await build(dir);
  const started = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  const run = (...args: string[]) => runCli([...args, '--socket', cli]);
  const files = layers.map((l) => l.file);
  const quitAndCheck = async (image: string, format: string): Promise<void> => {
    await started.client.execute('quit').catch(() => undefined);
    await started.qemu.exited;
    await t.resolves(qemuIo(image, readChecks(expectedView(layers)), { format }), `${path.basename(image)} reads exactly what the guest saw`);
  };
  return { ...started, layers, files, run, quitAndCheck };
}

t.test('the whole chain into the active image, --delete removes what left the chain', async (t) => {
  const g = await guest(t);
  const result = await g.run('pull', 'drive0', '--wait', '--verbose', '--delete');
  t.equal(result.code, 0, `pull should complete; stderr: ${result.stderr}`);
  t.match(result.stdout, /^Pull complete$/m, "virsh's closing words");
  t.match(result.stderr, /Block Pull: \[100\.00 %\]/, "virsh's progress label");
  t.same(
    (await resolveDisk(g.client, 'drive0')).layers.map((l) => l.file),
    [g.files[3]],
    'the active image stands alone',
  );
  for (const file of g.files.slice(0, 3)) t.notOk(existsSync(file), `${path.basename(file)} left the chain and is deleted`);
  await g.quitAndCheck(g.files[3]!, 'qcow2');
});

for (const [how, base] of [
  ['index', () => 'drive0[2]'],
  ['file', (g: { files: string[] }) => g.files[1]!],
  ['node name', () => ''],
] as const) {
  t.test(`--base by ${how}: only the images above it are pulled`, async (t) => {
    const g = await guest(t);
    const node = (await resolveDisk(g.client, 'drive0')).layers[1]!.nodeName;
    const result = await g.run('pull', 'drive0', '--base', how === 'node name' ? node : base(g), '--wait', '--json', '--delete');
    t.equal(result.code, 0, `pull should complete; stderr: ${result.stderr}`);
    const lines = jsonLines(result.stdout);
    t.same(lines.find((l) => l.type === 'started')?.pulled, [g.files[2]], 'b is what gets pulled');
    t.same(lines.find((l) => l.type === 'deleted')?.files, [g.files[2]], 'and the only file deleted');
    t.same(
      (await resolveDisk(g.client, 'drive0')).layers.map((l) => l.file),
      [g.files[0], g.files[1], g.files[3]],
      'c now backs onto a',
    );
    await g.quitAndCheck(g.files[3]!, 'qcow2');
  });
}

t.test('a bandwidth-limited pull aborted by --timeout, and one aborted from another command', async (t) => {
  const g = await guest(t);
  const timedOut = await g.run('pull', 'drive0', '--bandwidth', '65536', '--bytes', '--timeout', '1');
  t.equal(timedOut.code, 1, 'an aborted pull exits 1');
  t.match(timedOut.stdout, /^Pull aborted$/m, "virsh's words");
  const started = await g.run('pull', 'drive0', '--bandwidth', '65536', '--bytes');
  t.match(started.stdout, /^Block Pull started$/m, 'left running without --wait');
  const jobs = jsonLines((await g.run('jobs', '--json')).stdout);
  t.match(jobs, [{ type: 'job', id: 'pull-drive0', jobType: 'stream' }], 'jobs shows it as a stream job');
  const pivot = await g.run('job', 'drive0', '--pivot');
  t.equal(pivot.code, 2, 'a pull has nothing to pivot');
  const abort = await g.run('job', 'drive0', '--abort');
  t.match(abort.stdout, /^Pull aborted$/m, `job --abort ends it; stderr: ${abort.stderr}`);
  t.same(
    (await resolveDisk(g.client, 'drive0')).layers.map((l) => l.file),
    g.files,
    'the chain is unchanged',
  );
  for (const file of g.files) t.ok(existsSync(file), `${path.basename(file)} is still there`);
  await g.quitAndCheck(g.files[3]!, 'qcow2');
});

t.test('--keep-relative: the active image records base relative to its folder', async (t) => {
  const g = await guest(t, buildRelativeChain);
  const result = await g.run('pull', 'drive0', '--base', 'a.qcow2', '--keep-relative', '--wait');
  t.equal(result.code, 0, `pull should complete; stderr: ${result.stderr}`);
  t.equal((await imageChain(g.files[3]!, { forceShare: true }))[0]?.['backing-filename'], 'a.qcow2', 'c.qcow2 records a.qcow2, relative');
  await g.quitAndCheck(g.files[3]!, 'qcow2');
});

t.test("an I/O error while pulling fails the job with QEMU's error; the chain stays", async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir, ['base.qcow2', 'a.qcow2', 'b.qcow2', 'c.qcow2']);
  const { client } = await startQemu(t, { dir, args: [...blkdebugChainArgs(layers, 2, 'read_aio'), ...extraMonitorArgs(cli)] });
  const result = await runCli(['pull', 'n4', '--wait', '--socket', cli]);
  t.equal(result.code, 1, 'a failed pull exits 1');
  t.match(
    result.stderr,
    /Pull failed: pull job 'pull-n4' on n4 failed: Input\/output error/,
    `QEMU's error, with the job and the disk; stderr: ${result.stderr}`,
  );
  t.equal((await resolveDisk(client, 'n4')).layers.length, 4, 'the chain is as it was');
});
