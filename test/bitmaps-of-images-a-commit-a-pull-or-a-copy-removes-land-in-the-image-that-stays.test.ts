// An intermediate commit, a pull and a copy (full and shallow) each carry the persistent bitmaps of
// the images that leave the chain into the image that stays — created where missing, a disabled one
// stays disabled — and the dirty regions there are the union libvirt's merge gives.
import path from 'node:path';
import t from 'tap';
import { extraMonitorArgs, runCli } from './helpers/cli.js';
import { CommitJob, MirrorJob, StreamJob, resolveCommitRange, resolveDisk, resolvePullRange } from '../src/internal.js';
import { hmpQemuIo } from './helpers/block.js';
import { chainWithBitmaps, dirtyExtents, imageBitmaps, liveBitmapCounts, mib, MiB } from './helpers/bitmaps.js';

async function quit(g: Awaited<ReturnType<typeof chainWithBitmaps>>): Promise<void> {
  await g.client.execute('quit').catch(() => undefined);
  await g.qemu.exited;
}

t.test("intermediate commit of a into base: base gets a's chk0 and old (still disabled)", async (t) => {
  const g = await chainWithBitmaps(t);
  const job = await CommitJob.start(g.client, resolveCommitRange(await resolveDisk(g.client, 'drive0'), { top: g.a, base: g.base }));
  const result = await job.wait({ timeoutMs: 30_000 });
  t.equal(result.outcome, 'completed', 'the commit should complete');
  t.same(
    result.bitmaps?.moved?.slice().sort(),
    [`bitmap chk0: ${g.a} → ${g.base} (merged into its own)`, `bitmap old: ${g.a} → ${g.base} (created, disabled as on the source)`],
    'the result should say what moved',
  );
  t.same(
    await liveBitmapCounts(g.client),
    { 'base.qcow2': { chk0: 3 * MiB, old: MiB }, 'top.qcow2': { chk0: 2 * MiB, chk1: MiB } },
    'base should hold the union; top keeps its own',
  );
  await quit(g);
  t.same(await imageBitmaps(g.base), { chk0: ['auto'], old: [] }, 'old should be recorded disabled (no auto flag), chk0 enabled');
  t.same(
    await dirtyExtents(g.base, 'chk0'),
    mib([
      [2, 1],
      [4, 2],
    ]),
    'base chk0 = base [2] ∪ a [4,5]',
  );
  t.same(await dirtyExtents(g.base, 'old'), mib([[5, 1]]), "base old = a's old [5]");
});

t.test("pull of a into top: top gets a's chk0 and old", async (t) => {
  const g = await chainWithBitmaps(t);
  const job = await StreamJob.start(g.client, resolvePullRange(await resolveDisk(g.client, 'drive0'), { base: g.base }));
  const result = await job.wait({ timeoutMs: 30_000 });
  t.equal(result.outcome, 'completed', 'the pull should complete');
  t.same(
    result.bitmaps?.moved?.slice().sort(),
    [`bitmap chk0: ${g.a} → ${g.top} (merged into its own)`, `bitmap old: ${g.a} → ${g.top} (created, disabled as on the source)`],
    'the result should say what moved',
  );
  const live = await liveBitmapCounts(g.client);
  t.same(live['top.qcow2'], { chk0: 4 * MiB, chk1: MiB, old: MiB }, "top should hold the union of chk0 (its own [7, 9] and a's [4, 5]), its chk1 and a's old");
  await quit(g);
  t.same(await imageBitmaps(g.top), { chk0: ['auto'], chk1: ['auto'], old: [] }, 'top records all three, old disabled');
  t.same(
    await dirtyExtents(g.top, 'chk0'),
    mib([
      [4, 2],
      [7, 1],
      [9, 1],
    ]),
    'top chk0 = a [4,5] ∪ top [7, 9]',
  );
  t.same(await dirtyExtents(g.top, 'chk1'), mib([[9, 1]]), 'top chk1 is untouched by the pull');
  t.same(await dirtyExtents(g.top, 'old'), mib([[5, 1]]), "top old = a's old");
});

for (const shallow of [false, true]) {
  t.test(
    `${shallow ? 'shallow' : 'full'} copy with pivot: the destination gets the ${shallow ? "active layer's" : "whole chain's"} bitmaps and tracks the guest`,
    async (t) => {
      const g = await chainWithBitmaps(t);
      const dest = path.join(g.dir, 'dest.qcow2');
      const job = await MirrorJob.start(g.client, await resolveDisk(g.client, 'drive0'), { file: dest, shallow });
      await job.waitUntilReady({ timeoutMs: 30_000 });
      const result = await job.pivot({ timeoutMs: 30_000 });
      t.equal(result.outcome, 'pivoted', 'the copy should pivot');
      await hmpQemuIo(g.client, 'drive0', 'write -P 0x47 11M 1M');
      const live = await liveBitmapCounts(g.client);
      t.same(
        live['dest.qcow2'],
        shallow ? { chk0: 3 * MiB, chk1: 2 * MiB } : { chk0: 6 * MiB, chk1: 2 * MiB, old: MiB },
        'the destination should hold the carried bitmaps plus the write after the pivot',
      );
      await quit(g);
      t.same(
        await imageBitmaps(dest),
        shallow ? { chk0: ['auto'], chk1: ['auto'] } : { chk0: ['auto'], chk1: ['auto'], old: [] },
        'qemu-img info of the destination',
      );
      t.same(
        await dirtyExtents(dest, 'chk0'),
        mib(
          shallow
            ? [
                [7, 1],
                [9, 1],
                [11, 1],
              ]
            : [
                [2, 1],
                [4, 2],
                [7, 1],
                [9, 1],
                [11, 1],
              ],
        ),
        'dest chk0',
      );
      t.same(
        await dirtyExtents(dest, 'chk1'),
        mib([
          [9, 1],
          [11, 1],
        ]),
        'dest chk1',
      );
      if (!shallow) t.same(await dirtyExtents(dest, 'old'), mib([[5, 1]]), 'dest old stays disabled: the later write is not in it');
    },
  );
}

t.test('an intermediate commit left running (no --wait) whose images carry bitmaps is refused: nobody would merge them at its end', async (t) => {
  const cli = path.join((await import('node:os')).tmpdir(), `qbj-nowait-${process.pid}.sock`);
  t.teardown(async () => (await import('node:fs/promises')).rm(cli, { force: true }));
  const g = await chainWithBitmaps(t, extraMonitorArgs(cli));
  const started = await runCli(['commit', 'drive0', '--top', g.a, '--base', g.base, '--socket', cli]);
  t.equal(started.code, 1, 'the commit should be refused');
  t.match(
    started.stderr,
    /cannot leave this commit on drive0 running unattended: the bitmaps chk0, old of the committed images must be merged into \S*base\.qcow2 .*--wait/,
    'the refusal should name the bitmaps and the way out',
  );
  t.same(await g.client.execute('query-jobs'), [], 'no job should have started');
  t.same(
    await liveBitmapCounts(g.client),
    { 'base.qcow2': { chk0: MiB }, 'a.qcow2': { chk0: 2 * MiB, old: MiB }, 'top.qcow2': { chk0: 2 * MiB, chk1: MiB } },
    'every bitmap should be as before',
  );
});
