// auto-finalize/auto-dismiss false: the job waits in "pending" for our job-finalize and in "concluded"
// for our job-dismiss (after we read its error from query-jobs). The wire order proves it.
import t from 'tap';
import { CommitJob } from '../src/jobs/index.js';
import type { QmpMessage } from '../src/internal.js';
import { compareImages } from '../src/transport/qemu-img.js';
import { buildSeedChain } from './helpers/chain.js';
import { driveArgs, withoutBlips } from './helpers/jobs.js';
import { flatCopy } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { driveDisk, rangeOf } from './helpers/range.js';

t.test('manual finalize and dismiss', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const flat = await flatCopy(dir, layers);
  const wire: string[] = [];
  const describe = (dir: string, m: QmpMessage): string | undefined => {
    if (dir === 'out' && typeof m.execute === 'string') return `> ${m.execute}`;
    if (m.event === 'JOB_STATUS_CHANGE') return `< ${(m.data as { status: string }).status}`;
    if (typeof m.event === 'string' && m.event.startsWith('BLOCK_JOB')) return `< ${m.event}`;
    return undefined;
  };
  const { client } = await startQemu(t, {
    dir,
    args: driveArgs(layers),
    client: {
      traffic: (d, m) => {
        const s = describe(d, m);
        if (s) wire.push(s);
      },
    },
  });
  const job = await CommitJob.start(client, rangeOf(await driveDisk(client, layers, 'drive0'), 4, 1), { autoFinalize: false, autoDismiss: false });
  await job.waitUntilReady({ timeoutMs: 30_000 });
  const result = await job.pivot({ timeoutMs: 30_000 });
  t.same(
    withoutBlips(result.history),
    ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'],
    'whole state sequence with manual finalize/dismiss',
  );
  t.equal(result.outcome, 'pivoted', 'outcome should be pivoted');
  const from = wire.indexOf('> job-complete');
  // The job acts on JOB_STATUS_CHANGE; the BLOCK_JOB_* events QEMU sends beside them may arrive in a
  // later chunk than the status change, so they are checked for presence, not position.
  const after = wire.slice(from);
  const statusAndCommands = after.filter((s) => !s.startsWith('< BLOCK_JOB_'));
  t.same(
    statusAndCommands,
    // Then the graph is read once for nodes the pivot left behind: a -drive guest has none to delete.
    ['> job-complete', '< waiting', '< pending', '> job-finalize', '< concluded', '> query-jobs', '> job-dismiss', '< null', '> x-debug-query-block-graph'],
    `the job should wait for our finalize at pending and our dismiss at concluded, then delete no node: ${after.join(' ')}`,
  );
  t.ok(after.includes('< BLOCK_JOB_PENDING') && after.includes('< BLOCK_JOB_COMPLETED'), 'QEMU should have sent BLOCK_JOB_PENDING and BLOCK_JOB_COMPLETED');
  t.same(await client.execute('query-jobs'), [], 'no job should be left behind');
  t.ok(await compareImages(layers[0]!.file, flat, { forceShare: true }), 'base must equal the pre-commit guest view');
});
