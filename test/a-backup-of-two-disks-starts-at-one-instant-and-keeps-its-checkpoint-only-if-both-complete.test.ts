// backup of two disks: one transaction starts both (and checkpoint k0 on both); each target reads
// exactly its disk. Stopped by --timeout, both are aborted and the new checkpoint k1 is on neither.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { hmpQemuIo } from './helpers/block.js';
import { liveBitmapCounts } from './helpers/bitmaps.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';

const run = promisify(execFile);

t.test('two disks backed up together', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const [d0, d1, b0, b1, c0, c1] = ['d0.qcow2', 'd1.qcow2', 'b0.qcow2', 'b1.qcow2', 'c0.qcow2', 'c1.qcow2'].map((f) => path.join(dir, f)) as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  for (const [f, byte] of [
    [d0, 0x30],
    [d1, 0x31],
  ] as const) {
    await run('qemu-img', ['create', '-f', 'qcow2', f, '8M']);
    await run('qemu-io', ['-c', `write -P ${byte} 1M 2M`, f]);
  }
  const { client, qemu } = await startQemu(t, {
    dir,
    args: ['-drive', `file=${d0},format=qcow2,id=drive0,if=none`, '-drive', `file=${d1},format=qcow2,id=drive1,if=none`, ...extraMonitorArgs(cli)],
  });
  const q = (...args: string[]) => runCli([...args, '--socket', cli]);

  const both = await q('backup', 'drive0', 'drive1', '--target', b0, '--target', b1, '--checkpoint', 'k0');
  t.equal(both.code, 0, `the backup of both disks should succeed; stderr: ${both.stderr}`);
  t.match(
    both.stdout,
    /Backup of drive0 complete: \S*b0\.qcow2; checkpoint k0[^\n]*\nBackup of drive1 complete: \S*b1\.qcow2; checkpoint k0/,
    'each disk should be reported',
  );
  t.same(await liveBitmapCounts(client), { 'd0.qcow2': { k0: 0 }, 'd1.qcow2': { k0: 0 } }, 'k0 should start on both disks');

  await hmpQemuIo(client, 'drive0', 'write -P 0x40 4M 2M');
  await hmpQemuIo(client, 'drive1', 'write -P 0x41 4M 2M');
  const stopped = await q(
    'backup',
    'drive0',
    'drive1',
    '--target',
    c0,
    '--target',
    c1,
    '--incremental',
    'k0',
    '--checkpoint',
    'k1',
    '--bandwidth',
    '1',
    '--bytes',
    '--timeout',
    '1',
  );
  t.equal(stopped.code, 1, 'a backup stopped by --timeout should fail');
  t.match(stopped.stdout, /Backup of drive0 aborted[\s\S]*Backup of drive1 aborted/, `both disks should be aborted; stderr: ${stopped.stderr}`);
  t.same(await liveBitmapCounts(client), { 'd0.qcow2': { k0: 2 * 2 ** 20 }, 'd1.qcow2': { k0: 2 * 2 ** 20 } }, 'k1 should be on neither disk, k0 untouched');
  t.same(await client.execute('query-jobs'), [], 'no job is left');

  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  // The backups hold the disks as they were before the later writes.
  for (const [disk, backup, byte] of [
    [d0, b0, 0x30],
    [d1, b1, 0x31],
  ] as const) {
    const { stdout } = await run('qemu-io', ['-r', '-c', `read -P ${byte} 1M 2M`, '-c', 'read -P 0 4M 2M', backup]);
    t.notMatch(stdout, /Pattern verification failed/, `${path.basename(backup)} should read ${path.basename(disk)} as it was at the backup`);
  }
});
