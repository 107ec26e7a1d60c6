// `backup … --dry-run` says what the backup would do — its target, full or incremental since which
// checkpoint (that checkpoint's bitmaps down the chain, with their dirty sizes), the new checkpoint —
// refuses what the backup refuses, in the same words, and starts nothing: no file, no bitmap, no job.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { createSnapshots } from '../src/internal.js';
import { hmpQemuIo } from './helpers/block.js';
import { liveBitmapCounts, MiB } from './helpers/bitmaps.js';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';

const run = promisify(execFile);

t.test('backup --dry-run plans a full and an incremental backup and starts nothing', async (t) => {
  const dir = tempDir(t);
  const base = path.join(dir, 'base.qcow2');
  const sn1 = path.join(dir, 'sn1.qcow2');
  const cli = path.join(dir, 'cli.sock');
  await run('qemu-img', ['create', '-f', 'qcow2', base, '12M']);
  await run('qemu-img', ['bitmap', '--add', base, 'chk0']);
  await run('qemu-io', ['-c', 'write -P 0x42 4M 1M', base]); // chk0 in base: 1 MiB
  const { client } = await startQemu(t, { dir, args: ['-drive', `file=${base},format=qcow2,id=drive0,if=none`, ...extraMonitorArgs(cli)] });
  await createSnapshots(client, [{ disk: 'drive0', file: sn1 }]);
  await hmpQemuIo(client, 'drive0', 'write -P 0x43 6M 2M'); // chk0 in sn1: 2 MiB
  const before = await liveBitmapCounts(client);
  t.same(before, { 'base.qcow2': { chk0: 1 * MiB }, 'sn1.qcow2': { chk0: 2 * MiB } }, 'chk0 should be in both images');
  const backup = (...args: string[]) => runCli(['backup', 'drive0', ...args, '--dry-run', '--socket', cli]);
  const full = path.join(dir, 'full.qcow2');
  const inc = path.join(dir, 'inc.qcow2');

  const fullPlan = await backup('--target', full, '--checkpoint', 'chk1');
  t.equal(fullPlan.code, 0, `the full plan should print; stderr: ${fullPlan.stderr}`);
  t.match(fullPlan.stdout, /^Plan for drive0: full backup \(dry run: nothing started\)$/m, 'it should say a full backup of drive0');
  t.match(fullPlan.stdout, new RegExp(`into ${full}: a new standalone qcow2 file \\(12 MiB\\)`), 'it should name the target');
  t.match(fullPlan.stdout, new RegExp(`starts checkpoint chk1 in ${sn1} at the same instant`), 'it should name the new checkpoint and its image');

  const incPlan = await backup('--target', inc, '--incremental', 'chk0', '--json');
  t.equal(incPlan.code, 0, `the incremental plan should print; stderr: ${incPlan.stderr}`);
  const records = jsonLines(incPlan.stdout).filter((r) => r.type === 'backup-plan');
  t.same(
    records.map(({ jobId: _id, bitmaps, ...rest }) => ({
      ...rest,
      bitmaps: (bitmaps as Array<{ file: string; dirtyBytes: number }>).map((b) => [b.file, b.dirtyBytes]),
    })),
    [
      {
        type: 'backup-plan',
        job: 'backup',
        disk: 'drive0',
        target: inc,
        sync: 'incremental',
        incremental: 'chk0',
        bitmaps: [
          [base, 1 * MiB],
          [sn1, 2 * MiB],
        ],
        copyBytesAtMost: 3 * MiB,
        virtualSize: 12 * MiB,
        checkpoint: null,
      },
    ],
    'the incremental plan should name chk0 in both images with their dirty sizes, base first',
  );

  const refused = await backup('--target', inc, '--incremental', 'nope');
  const real = await runCli(['backup', 'drive0', '--target', inc, '--incremental', 'nope', '--socket', cli]);
  t.not(refused.code, 0, 'a plan since an unknown checkpoint should be refused');
  t.match(refused.stderr, /checkpoint 'nope' is on no image of drive0/, 'the refusal should name the checkpoint and the disk');
  t.equal(refused.stderr, real.stderr, 'the dry run should refuse in the words of the backup itself');

  t.notOk(existsSync(full) || existsSync(inc), 'no target file should have been created');
  t.same(await liveBitmapCounts(client), before, 'no bitmap should have been added (no chk1, no temporary one)');
  t.same(await client.execute('query-jobs'), [], 'no job should have been started');
  t.same(
    (await client.execute('query-named-block-nodes', { flat: true }))
      .filter((n) => !['base.qcow2', 'sn1.qcow2'].includes(path.basename(n.file)))
      .map((n) => n.file),
    [],
    'no target node should have been added',
  );
});
