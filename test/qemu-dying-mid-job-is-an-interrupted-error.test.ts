// QEMU killed mid-job: the wait ends with JobInterruptedError saying what is still valid on disk;
// the top still reads right.
import t from 'tap';
import { CommitJob, JobInterruptedError } from '../src/jobs/index.js';
import { compareImages } from '../src/transport/qemu-img.js';
import { blockdevChainArgs, buildSeedChain } from './helpers/chain.js';
import { flatCopy, withoutBlips } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { blockdevRange } from './helpers/range.js';

t.test('QEMU killed mid-job', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const [base, a, b, c] = layers.map((l) => l.file) as [string, string, string, string];
  const flat = await flatCopy(dir, layers);
  const { client, qemu } = await startQemu(t, { dir, args: blockdevChainArgs(layers) });
  const job = await CommitJob.start(client, blockdevRange(layers, 4, 1), { speed: 64 * 1024 });
  const waiting = job.wait({ timeoutMs: 30_000 }).catch((e: unknown) => e);
  qemu.kill('SIGKILL');
  const error = await waiting;
  t.ok(error instanceof JobInterruptedError, 'the wait should end with JobInterruptedError');
  const e = error as JobInterruptedError;
  t.equal(e.lastStatus, 'running', 'the error should give the last status seen');
  t.equal(e.jobId, 'commit-n4', 'the error should name the job');
  t.equal(e.disk, 'n4', 'the error should name the disk');
  t.same(e.stillValid, [c], 'the top still reads right');
  t.same(e.unreliable, [base, a, b], 'base and intermediates are not to be trusted');
  t.match(
    e.message,
    /top .*c\.qcow2.* still read right.*base .*base\.raw may be partly written.*a\.qcow2, .*b\.qcow2 are no longer valid/,
    `the message should say what is valid on disk: ${e.message}`,
  );
  t.same(withoutBlips(job.history), ['created', 'running'], 'the states seen before the loss');
  t.ok(await compareImages(c, flat), 'the top chain still reads the pre-commit guest view');
});
