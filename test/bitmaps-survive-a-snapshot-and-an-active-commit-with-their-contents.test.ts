// The measurement: base carries chk0, a snapshot is taken, chk1 is added on the overlay and
// the guest writes, then an active commit pivots. Every bitmap must survive with the dirty regions
// libvirt's merge gives — tracked on the overlay while the guest runs there, in base after the pivot.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { CommitJob, createSnapshots, resolveCommitRange, resolveDisk } from '../src/internal.js';
import { hmpQemuIo } from './helpers/block.js';
import { dirtyExtents, imageBitmaps, liveBitmapCounts, mib, MiB } from './helpers/bitmaps.js';
import { startQemu, tempDir } from './helpers/qemu.js';

const run = promisify(execFile);

t.test('chk0 on base and chk1 on the overlay survive snapshot + active commit, contents and all', async (t) => {
  const dir = tempDir(t);
  const base = path.join(dir, 'base.qcow2');
  const sn1 = path.join(dir, 'sn1.qcow2');
  await run('qemu-img', ['create', '-f', 'qcow2', base, '12M']);
  await run('qemu-io', ['-c', 'write -P 0x41 0 4M', base]);
  await run('qemu-img', ['bitmap', '--add', base, 'chk0']);
  await run('qemu-io', ['-c', 'write -P 0x42 4M 1M', base]); // chk0: 4-5 MiB
  const { client, qemu } = await startQemu(t, { dir, args: ['-drive', `file=${base},format=qcow2,id=drive0,if=none`] });

  await createSnapshots(client, [{ disk: 'drive0', file: sn1 }]);
  t.same((await liveBitmapCounts(client))['sn1.qcow2'], { chk0: 0 }, 'the snapshot should start chk0 afresh on the new overlay, in its own transaction');
  await hmpQemuIo(client, 'drive0', 'write -P 0x43 6M 1M');
  const top = (await resolveDisk(client, 'drive0')).layers.at(-1)!;
  await client.executeUntyped('block-dirty-bitmap-add', { node: top.nodeName, name: 'chk1', persistent: true });
  await hmpQemuIo(client, 'drive0', 'write -P 0x44 8M 1M');
  t.same(
    await liveBitmapCounts(client),
    { 'base.qcow2': { chk0: 1 * MiB }, 'sn1.qcow2': { chk0: 2 * MiB, chk1: 1 * MiB } },
    'while the guest runs on the overlay, its bitmaps track every write',
  );

  const job = await CommitJob.start(client, resolveCommitRange(await resolveDisk(client, 'drive0'), { active: true }));
  await job.waitUntilReady({ timeoutMs: 30_000 });
  const result = await job.pivot({ timeoutMs: 30_000 });
  t.equal(result.outcome, 'pivoted', 'the commit should pivot');
  t.same(
    result.bitmaps?.moved?.slice().sort(),
    [`bitmap chk0: ${sn1} → ${base} (merged into its own)`, `bitmap chk1: ${sn1} → ${base} (created)`],
    'the result should say which bitmaps moved where',
  );
  await hmpQemuIo(client, 'drive0', 'write -P 0x45 10M 1M');
  t.same(
    await liveBitmapCounts(client),
    { 'base.qcow2': { chk0: 4 * MiB, chk1: 2 * MiB } },
    'after the pivot base holds the union and goes on tracking the guest',
  );

  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  t.same(Object.keys(await imageBitmaps(base)).sort(), ['chk0', 'chk1'], 'qemu-img info should list both bitmaps in base');
  t.same(
    await dirtyExtents(base, 'chk0'),
    mib([
      [4, 1],
      [6, 1],
      [8, 1],
      [10, 1],
    ]),
    "chk0 in base: what base had, the overlay's writes, and the write after the pivot",
  );
  t.same(
    await dirtyExtents(base, 'chk1'),
    mib([
      [8, 1],
      [10, 1],
    ]),
    'chk1 in base: the writes since chk1 was added, before and after the pivot',
  );
});
