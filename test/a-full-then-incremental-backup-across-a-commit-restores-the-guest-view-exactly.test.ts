// backup (push mode): a full backup starting checkpoint c0, guest writes, a snapshot and an active
// commit in between (c0 is carried into base), then an incremental since c0 starting c1. The
// incremental holds only what changed; rebased onto the full it reads exactly the guest's view. A
// backup that is aborted (--timeout) keeps no new checkpoint; targets are made safely.
import { execFile } from 'node:child_process';
import { lstat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { hmpQemuIo } from './helpers/block.js';
import { imageBitmaps, liveBitmapCounts, mib } from './helpers/bitmaps.js';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';

const run = promisify(execFile);

t.test('full + incremental across a commit', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const base = path.join(dir, 'base.qcow2');
  const [full, inc1, inc2] = ['full.qcow2', 'inc1.qcow2', 'inc2.qcow2'].map((f) => path.join(dir, f)) as [string, string, string];
  await run('qemu-img', ['create', '-f', 'qcow2', base, '12M']);
  await run('qemu-io', ['-c', 'write -P 0x41 0 4M', base]);
  const { client, qemu } = await startQemu(t, { dir, args: ['-drive', `file=${base},format=qcow2,id=drive0,if=none`, ...extraMonitorArgs(cli)] });
  const q = (...args: string[]) => runCli([...args, '--socket', cli]);

  const first = await q('backup', 'drive0', '--target', full, '--checkpoint', 'c0', '--verbose');
  t.equal(first.code, 0, `the full backup should succeed; stderr: ${first.stderr}`);
  t.match(first.stdout, /Backup of drive0 complete: .*full\.qcow2; checkpoint c0 starts where it ends/, 'it should say so');
  t.equal((await lstat(full)).mode & 0o777, 0o600, 'the backup file should be 0600');
  await hmpQemuIo(client, 'drive0', 'write -P 0x42 5M 1M');
  t.equal((await q('snapshot', 'drive0', '--file', path.join(dir, 's1.qcow2'))).code, 0, 'snapshot');
  await hmpQemuIo(client, 'drive0', 'write -P 0x43 7M 1M');
  const commit = await q('commit', 'drive0', '--active', '--pivot');
  t.equal(commit.code, 0, `the commit should pivot; stderr: ${commit.stderr}`);
  await hmpQemuIo(client, 'drive0', 'write -P 0x44 9M 512k');

  const second = await q('backup', 'drive0', '--target', inc1, '--incremental', 'c0', '--checkpoint', 'c1', '--json');
  t.equal(second.code, 0, `the incremental backup should succeed; stderr: ${second.stderr}`);
  t.match(
    jsonLines(second.stdout).find((l) => l.type === 'result'),
    { outcome: 'completed', checkpoint: { name: 'c1', kept: true } },
    '--json should give the result with the kept checkpoint',
  );
  const { stdout } = await run('qemu-img', ['map', '-U', '--output=json', inc1]);
  const data = (JSON.parse(stdout) as Array<{ start: number; length: number; data: boolean }>).filter((e) => e.data).map((e) => [e.start, e.length]);
  t.same(
    data,
    [
      ...mib([
        [5, 1],
        [7, 1],
      ]),
      [9 * 2 ** 20, 2 ** 19],
    ],
    'the incremental should hold exactly what the guest wrote since c0',
  );

  const exists = await q('backup', 'drive0', '--target', full);
  t.match(exists, { code: 1, stderr: /exists already/ }, 'a backup onto an existing file should be refused');
  await symlink(path.join(dir, 'elsewhere.qcow2'), path.join(dir, 'link.qcow2'));
  const linked = await q('backup', 'drive0', '--target', path.join(dir, 'link.qcow2'));
  t.equal(linked.code, 1, 'a backup through a symbolic link should be refused');
  await t.rejects(lstat(path.join(dir, 'elsewhere.qcow2')), 'and nothing created where the link points');

  // More than one chunk, so 1 byte/s holds the job until the timeout.
  await hmpQemuIo(client, 'drive0', 'write -P 0x45 10M 2M');
  const aborted = await q('backup', 'drive0', '--target', inc2, '--incremental', 'c1', '--checkpoint', 'c2', '--bandwidth', '1', '--bytes', '--timeout', '1');
  t.match(aborted, { code: 1, stdout: /Backup of drive0 aborted/ }, 'a backup stopped by --timeout should be aborted');
  t.same(
    Object.keys((await liveBitmapCounts(client))['base.qcow2'] ?? {}).sort(),
    ['c0', 'c1'],
    'the aborted backup keeps no checkpoint c2 and no temporary bitmap',
  );
  t.same(await client.execute('query-jobs'), [], 'no job is left');

  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  await run('qemu-img', ['rebase', '-u', '-b', full, '-F', 'qcow2', inc1]);
  // The guest's view at c1 is base now, minus the one write made after c1.
  await run('qemu-img', ['create', '-f', 'qcow2', '-b', base, '-F', 'qcow2', path.join(dir, 'at-c1.qcow2')]);
  await run('qemu-io', ['-c', 'write -z 10M 2M', path.join(dir, 'at-c1.qcow2')]);
  const compared = await run('qemu-img', ['compare', inc1, path.join(dir, 'at-c1.qcow2')]).then(
    () => 0,
    (e: { code: number }) => e.code,
  );
  t.equal(compared, 0, 'the incremental on the full should read exactly the guest view at c1');
  t.same(Object.keys(await imageBitmaps(base)).sort(), ['c0', 'c1'], 'base records c0 and c1');
});
