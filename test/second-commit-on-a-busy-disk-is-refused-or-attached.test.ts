// A second commit on a disk that already has one: a clear JobAlreadyRunningError (instead of QEMU's
// "Need a root block node"), or, when asked, the running job itself.
import t from 'tap';
import { CommitJob, JobAlreadyRunningError } from '../src/jobs/index.js';
import { blockdevChainArgs, buildSeedChain } from './helpers/chain.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { blockdevRange } from './helpers/range.js';
import { withoutBlips } from './helpers/jobs.js';

t.test('second commit', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: blockdevChainArgs(layers) });
  const first = await CommitJob.start(client, blockdevRange(layers, 4, 1), { speed: 64 * 1024 });

  const sameId = await CommitJob.start(client, blockdevRange(layers, 4, 1)).catch((e: unknown) => e);
  t.ok(sameId instanceof JobAlreadyRunningError, 'same id: JobAlreadyRunningError');
  t.match((sameId as Error).message, /commit-n4.*already in use/, 'the message should name the job id');
  t.same((sameId as JobAlreadyRunningError).existingJobs, ['commit-n4'], 'the error should list the existing job');

  const otherId = await CommitJob.start(client, blockdevRange(layers, 3, 1), { jobId: 'other' }).catch((e: unknown) => e);
  t.ok(otherId instanceof JobAlreadyRunningError, 'other id on the same disk: JobAlreadyRunningError');
  t.match((otherId as Error).message, /already has a block job running \(commit-n4\)/, 'the message should say the disk is busy and with what');

  const raw = await client.execute('block-commit', { 'job-id': 'raw', device: 'n4', 'top-node': 'n3', 'base-node': 'n1' }).catch((e: Error) => e.message);
  t.match(raw, /Need a root block node/, 'QEMU itself only says this, which is what the check replaces');

  const attached = await CommitJob.start(client, blockdevRange(layers, 4, 1), { ifRunning: 'attach' });
  t.equal(attached.id, 'commit-n4', 'ifRunning attach should give the running job');
  t.equal(attached.status, 'running', 'the attached job should know its status');
  const result = await first.cancel({ timeoutMs: 30_000 });
  t.equal(result.outcome, 'aborted', 'the first job aborts');
  const seenByAttached = await attached.wait({ timeoutMs: 30_000 }).catch((e: unknown) => e);
  t.match((seenByAttached as Error).message, /cancelled by someone else/, 'the attached job learns it was cancelled by someone else');
  t.same(withoutBlips(result.history), ['created', 'running', 'aborting', 'concluded', 'null'], 'whole state sequence of the first job');
});
