// A commit left running (no --wait, or --active --wait returning at READY) may fail with nobody
// watching. It is started with auto-dismiss off, so QEMU keeps it concluded, error and all: `jobs`
// shows the error, then dismisses it, and the next `jobs` is empty. A chain changed by another
// client between reading it and block-commit is refused before anything starts.
import path from 'node:path';
import t from 'tap';
import { CommitJob, resolveCommitRange, resolveDisk, ChainChangedError } from '../src/internal.js';
import { buildSeedChain } from './helpers/chain.js';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';
import { blkdebugChainArgs } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('an async commit that fails later is kept until jobs has shown its error', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir, ['base.qcow2', 'a.qcow2', 'b.qcow2', 'c.qcow2']);
  const { client } = await startQemu(t, { dir, args: [...blkdebugChainArgs(layers, 1, 'write_aio'), ...extraMonitorArgs(cli)] });
  const concluded = client.waitForEvent('JOB_STATUS_CHANGE', (e) => e.data.status === 'concluded', { timeoutMs: 30_000 });
  const started = await runCli(['commit', 'n4', '--active', '--socket', cli]);
  t.equal(started.code, 0, `the job starts and is left running; stderr: ${started.stderr}`);
  await concluded;
  const listed = jsonLines((await runCli(['jobs', '--json', '--socket', cli])).stdout);
  t.match(
    listed,
    [{ type: 'job', id: 'commit-n4', status: 'concluded', error: /Input\/output error/, dismissed: true }],
    "jobs shows the failed job with QEMU's error, then dismisses it",
  );
  t.same(await client.execute('query-jobs'), [], 'the job is gone from QEMU once shown');
  t.equal((await runCli(['jobs', '--socket', cli])).stdout.trim(), 'No block jobs', 'and the next jobs is empty');
});

t.test('a snapshot taken by another client after the chain was read is noticed: nothing starts', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`] });
  const range = resolveCommitRange(await resolveDisk(client, 'drive0'), { top: 'drive0[3]', base: 'drive0[1]' });
  await client.execute('blockdev-snapshot-sync', { device: 'drive0', 'snapshot-file': path.join(dir, 'd.qcow2'), format: 'qcow2' });
  const refused = await CommitJob.start(client, range).catch((e: unknown) => e);
  t.ok(refused instanceof ChainChangedError, `the changed chain is refused with ChainChangedError, got ${String(refused)}`);
  t.match((refused as Error).message, /chain of disk 'drive0' changed since it was read/, 'the message says what happened');
  t.same(await client.execute('query-block-jobs'), [], 'no job was started');
});
