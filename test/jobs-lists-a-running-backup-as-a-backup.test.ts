// `jobs` lists a backup that runs (throttled, so it is still running) under its kind's noun from the
// job-kind table, with QEMU's own state and progress, as text and as --json records.
import path from 'node:path';
import t from 'tap';
import { BackupJob, resolveDisk } from '../src/internal.js';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';
import { buildSeedChain } from './helpers/chain.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('jobs shows a running backup', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers.at(-1)!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  const disk = await resolveDisk(client, 'drive0');
  // 64 KiB/s over 12 MiB: running for minutes, cancelled below.
  const [job] = await BackupJob.start(client, [{ disk, target: path.join(dir, 'backup.qcow2') }], { speed: 64 * 1024 });
  t.teardown(() => job!.cancel({ timeoutMs: 30_000 }).catch(() => undefined));

  const text = await runCli(['jobs', '--socket', cli]);
  t.equal(text.code, 0, `jobs should list; stderr: ${text.stderr}`);
  t.match(text.stdout, new RegExp(`^${job!.id}\\s+backup\\s+running\\s+`, 'm'), `the row should name ${job!.id} a backup, running; got:\n${text.stdout}`);

  const json = await runCli(['jobs', '--json', '--socket', cli]);
  const rows = jsonLines(json.stdout);
  t.match(
    rows,
    [
      { type: 'job', id: job!.id, jobType: 'backup', status: 'running', ready: false, speed: 64 * 1024, total: 12 * 1024 * 1024, dismissed: false },
      { type: 'jobs', count: 1 },
    ],
    'the records should be the backup row, then the end of the list',
  );
  const result = await job!.cancel({ timeoutMs: 30_000 });
  t.equal(result.outcome, 'aborted', 'the backup should end aborted');
});
