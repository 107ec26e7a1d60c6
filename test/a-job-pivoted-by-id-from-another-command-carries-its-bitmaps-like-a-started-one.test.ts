// `commit --active --wait` or `copy --wait` leaves its job at READY; a second command, `job DISK
// --pivot`, attaches to it by id and pivots. The bitmaps must move as when the command that started
// the job pivots it: chk0 (base, then spread to the overlay by the snapshot) and chk1 (overlay only)
// land, with the union of their dirty regions, in base (commit) or in the destination (copy).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { createSnapshots, resolveDisk } from '../src/internal.js';
import { hmpQemuIo } from './helpers/block.js';
import { dirtyExtents, imageBitmaps, liveBitmapCounts, MiB, mib } from './helpers/bitmaps.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';

const run = promisify(execFile);

/** base.qcow2 (chk0: 4-5 MiB) under sn1.qcow2 (chk0 spread by the snapshot: 6-7 and 8-9; chk1: 8-9), a CLI monitor. */
async function guest(t: Test) {
  const dir = tempDir(t);
  const base = path.join(dir, 'base.qcow2');
  const sn1 = path.join(dir, 'sn1.qcow2');
  const cli = path.join(dir, 'cli.sock');
  await run('qemu-img', ['create', '-f', 'qcow2', base, '12M']);
  await run('qemu-io', ['-c', 'write -P 0x41 0 4M', base]);
  await run('qemu-img', ['bitmap', '--add', base, 'chk0']);
  await run('qemu-io', ['-c', 'write -P 0x42 4M 1M', base]);
  const started = await startQemu(t, { dir, args: ['-drive', `file=${base},format=qcow2,id=drive0,if=none`, ...extraMonitorArgs(cli)] });
  const { client } = started;
  await createSnapshots(client, [{ disk: 'drive0', file: sn1 }]);
  await hmpQemuIo(client, 'drive0', 'write -P 0x43 6M 1M');
  const top = (await resolveDisk(client, 'drive0')).layers.at(-1)!;
  await client.executeUntyped('block-dirty-bitmap-add', { node: top.nodeName, name: 'chk1', persistent: true });
  await hmpQemuIo(client, 'drive0', 'write -P 0x44 8M 1M');
  const cliRun = (...args: string[]) => runCli([...args, '--socket', cli]);
  const quit = async (): Promise<void> => {
    await client.execute('quit').catch(() => undefined);
    await started.qemu.exited;
  };
  return { ...started, dir, base, sn1, cli: cliRun, quit };
}

/** The second command's pivot, then what the image that stays holds, live and after quit. */
async function pivotAndCheck(t: Test, g: Awaited<ReturnType<typeof guest>>, stays: string): Promise<void> {
  const pivot = await g.cli('job', 'drive0', '--pivot');
  t.equal(pivot.code, 0, `job drive0 --pivot should pivot; stderr: ${pivot.stderr}`);
  t.same((await resolveDisk(g.client, 'drive0')).layers.at(-1)!.file, stays, `the guest should run on ${path.basename(stays)}`);
  await hmpQemuIo(g.client, 'drive0', 'write -P 0x45 10M 1M');
  const name = path.basename(stays);
  t.same(
    (await liveBitmapCounts(g.client))[name],
    { chk0: 4 * MiB, chk1: 2 * MiB },
    `after the pivot ${name} should hold both bitmaps with the union of their regions, and track the guest`,
  );
  await g.quit();
  t.same(Object.keys(await imageBitmaps(stays)).sort(), ['chk0', 'chk1'], `qemu-img info should list both bitmaps in ${name}`);
  t.same(
    await dirtyExtents(stays, 'chk0'),
    mib([
      [4, 1],
      [6, 1],
      [8, 1],
      [10, 1],
    ]),
    `chk0 in ${name}: base's region, the overlay's writes, the write after the pivot`,
  );
  t.same(
    await dirtyExtents(stays, 'chk1'),
    mib([
      [8, 1],
      [10, 1],
    ]),
    `chk1 in ${name}: the writes since chk1 was added, before and after the pivot`,
  );
}

t.test('an active commit left at READY, pivoted by job --pivot, merges the bitmaps into base', async (t) => {
  const g = await guest(t);
  const ready = await g.cli('commit', 'drive0', '--active', '--wait');
  t.equal(ready.code, 0, `commit --active --wait should leave the job at READY; stderr: ${ready.stderr}`);
  t.equal((await g.client.execute('query-block-jobs'))[0]?.ready, true, 'the commit should be left running at READY');
  await pivotAndCheck(t, g, g.base);
});

t.test('a copy left at READY, pivoted by job --pivot, carries the bitmaps onto the destination', async (t) => {
  const g = await guest(t);
  const dest = path.join(g.dir, 'dest.qcow2');
  const ready = await g.cli('copy', 'drive0', '--dest', dest, '--wait');
  t.equal(ready.code, 0, `copy --wait should leave the job at READY; stderr: ${ready.stderr}`);
  t.equal((await g.client.execute('query-block-jobs'))[0]?.ready, true, 'the copy should be left running at READY');
  await pivotAndCheck(t, g, dest);
});
