// A persistent bitmap QEMU cannot change — left inconsistent by a QEMU that died holding it — on the
// image a job writes (base of a commit) or must merge from (an image a pull removes): the job is
// refused in words naming the bitmap and its image, before anything is sent; nothing runs, the chain
// is unchanged. (Measured on QEMU 7.2: without the check the commit runs and the bitmap silently misses its writes.)
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { BitmapNotUsableError, StreamJob, resolveDisk, resolvePullRange } from '../src/internal.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';

const run = promisify(execFile);

t.test('an inconsistent bitmap on base or on a pulled image refuses the job before it starts', async (t) => {
  const dir = tempDir(t);
  const [base, mid, top] = ['base.qcow2', 'mid.qcow2', 'top.qcow2'].map((f) => path.join(dir, f)) as [string, string, string];
  await run('qemu-img', ['create', '-f', 'qcow2', base, '12M']);
  await run('qemu-img', ['bitmap', '--add', base, 'stale']);
  // qemu-io's abort leaves the bitmap's in-use flag set, as a killed QEMU does.
  await t.rejects(run('qemu-io', ['-c', 'write 0 64k', '-c', 'abort', base]), 'qemu-io should die on abort');
  await run('qemu-img', ['create', '-f', 'qcow2', '-b', base, '-F', 'qcow2', mid]);
  await run('qemu-img', ['bitmap', '--add', mid, 'midmap']);
  await t.rejects(run('qemu-io', ['-c', 'write 1M 64k', '-c', 'abort', mid]), 'qemu-io should die on abort');
  await run('qemu-img', ['create', '-f', 'qcow2', '-b', mid, '-F', 'qcow2', top]);
  const cli = path.join(dir, 'cli.sock');
  const { client } = await startQemu(t, { dir, args: ['-drive', `file=${top},format=qcow2,id=drive0,if=none`, ...extraMonitorArgs(cli)] });

  const commit = await runCli(['commit', 'drive0', '--active', '--pivot', '--socket', cli]);
  t.equal(commit.code, 1, `the commit should fail; stdout: ${commit.stdout}`);
  t.match(
    commit.stderr,
    new RegExp(`bitmap 'stale' on ${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is inconsistent`),
    'the error should name the bitmap and its image',
  );
  t.same(await client.execute('query-jobs'), [], 'no job should have started');

  const error = await StreamJob.start(client, resolvePullRange(await resolveDisk(client, 'drive0'), { base })).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(error, BitmapNotUsableError, 'a pull that would merge an inconsistent bitmap should be refused with BitmapNotUsableError');
  t.match(error, { bitmap: 'midmap', file: mid }, 'the error should carry the bitmap and its image');
  t.same(await client.execute('query-jobs'), [], 'no pull should have started');
  t.same(
    (await resolveDisk(client, 'drive0')).layers.map((l) => l.file),
    [base, mid, top],
    'the chain should be unchanged',
  );
});
