// While a backup runs, QEMU's copy-before-write filter sits above the disk. The disk still resolves
// (chain, checkpoint list), and every other start is refused before anything is created, naming the
// backup: a copy (the disk has a block job), a second backup (its id is the disk's: no "choose
// another id"), `job` (a backup job, followed only by its own command). After it, a backup onto an
// existing file is refused in a backup's words, with no copy's advice to reuse it.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { extraMonitorArgs, finished, runCli, startCli, waitForLine } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';

const run = promisify(execFile);

t.test('other commands while a backup runs', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const base = path.join(dir, 'base.qcow2');
  const [full, copy, second] = ['full.qcow2', 'copy.qcow2', 'second.qcow2'].map((f) => path.join(dir, f)) as [string, string, string];
  await run('qemu-img', ['create', '-f', 'qcow2', base, '16M']);
  await run('qemu-io', ['-c', 'write -P 0x41 0 8M', base]);
  await startQemu(t, { dir, args: ['-drive', `file=${base},format=qcow2,id=drive0,if=none`, ...extraMonitorArgs(cli)] });
  const q = (...args: string[]) => runCli([...args, '--socket', cli]);

  // 1 byte/s after the first chunk: the backup holds the disk until it is interrupted.
  const backup = startCli(['backup', 'drive0', '--target', full, '--bandwidth', '1', '--bytes', '--json', '--socket', cli]);
  const ended = finished(backup, 60_000);
  await waitForLine(backup, (l) => l.includes('"type":"started"'));

  const chain = await q('chain', 'drive0');
  t.match(chain, { code: 0, stdout: /drive0\[1\] .*base\.qcow2 +\(active\)/ }, `the disk resolves under the backup's filter: ${chain.stdout}${chain.stderr}`);
  t.match(await q('checkpoint', 'list'), { code: 0, stdout: /^No checkpoints$/m }, 'checkpoints are listed');
  const copied = await q('copy', 'drive0', '--dest', copy);
  t.match(
    copied,
    { code: 1, stderr: /cannot start a copy on drive0: the disk already has a block job running \(backup-drive0\); end it, or wait for it to end/ },
    `a copy is refused, naming the backup: ${copied.stderr}`,
  );
  t.notOk(existsSync(copy), 'and no copy file was made');
  const again = await q('backup', 'drive0', '--target', second);
  t.match(
    again,
    {
      code: 1,
      stderr: /^error: cannot start a backup on drive0: job id 'backup-drive0' is already in use \(status running\); end it, or wait for it to end$/m,
    },
    `a second backup is refused: ${again.stderr}`,
  );
  t.notOk(existsSync(second), 'and no second target was made');
  const job = await q('job', 'drive0');
  t.match(job, { code: 1, stderr: /job 'backup-drive0' is a backup job/ }, `job names the backup: ${job.stderr}`);

  backup.kill('SIGINT');
  t.match(await ended, { code: 1, stdout: /"outcome":"aborted"/ }, 'Ctrl-C aborts the backup');
  const exists = await q('backup', 'drive0', '--target', full);
  t.match(exists, { code: 1, stderr: /^error: cannot start a backup to .*full\.qcow2: it exists already \(EEXIST/m }, `an existing target: ${exists.stderr}`);
  t.notMatch(exists.stderr, /copy|reuse/, 'with no copy words or reuse advice');
});
