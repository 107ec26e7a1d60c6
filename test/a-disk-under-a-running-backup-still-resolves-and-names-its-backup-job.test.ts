// While a backup runs, its copy-before-write filter is the disk's root (query-block shows it as the
// image, format "copy-before-write"): the disk must still resolve to its chain, and `job DISK --info`
// must find the backup that holds it and say what it is, not "No current block job".
import path from 'node:path';
import t from 'tap';
import { BackupJob, resolveDisk } from '../src/internal.js';
import { buildSeedChain } from './helpers/chain.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('a disk being backed up resolves and job --info finds its backup', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers.at(-1)!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  const files = layers.map((l) => l.file);
  const disk = await resolveDisk(client, 'drive0');
  // 64 KiB/s over 12 MiB: running for minutes, cancelled below.
  const [job] = await BackupJob.start(client, [{ disk, target: path.join(dir, 'backup.qcow2') }], { speed: 64 * 1024 });
  t.teardown(() => job!.cancel({ timeoutMs: 30_000 }).catch(() => undefined));
  const nodes = await client.execute('query-named-block-nodes', { flat: true });
  t.ok(
    nodes.some((n) => n.drv === 'copy-before-write'),
    'the backup should have put its copy-before-write filter in the graph',
  );

  const during = await resolveDisk(client, 'drive0');
  t.same(
    during.layers.map((l) => l.file),
    files,
    'drive0 should resolve to its chain under the filter',
  );
  const info = await runCli(['job', 'drive0', '--info', '--socket', cli]);
  t.not(info.code, 0, 'job --info cannot follow a backup it did not start');
  t.match(
    info.stderr,
    new RegExp(`job '${job!.id}' is a backup job`),
    `job --info should find the backup ${job!.id} on drive0 and say what it is; got: ${info.stdout}${info.stderr}`,
  );
  const result = await job!.cancel({ timeoutMs: 30_000 });
  t.equal(result.outcome, 'aborted', 'the backup should end aborted');
});
