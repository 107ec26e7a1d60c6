// A guest disk "vda" (a virtio-blk device) on the -blockdev chain n1 ← … ← n4, where blkdebug fails
// the first write into base: the active commit the user starts on "vda" fails, and its
// JobFailedError (and the result it carries) says `disk` "vda", the user's word, and `device` "n4",
// the name QEMU ran the job on.
import t from 'tap';
import { resolveCommitRange, resolveDisk } from '../src/block/index.js';
import { CommitJob, JobFailedError } from '../src/jobs/index.js';
import { buildSeedChain } from './helpers/chain.js';
import { blkdebugChainArgs } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('a failed commit on vda names vda and QEMU’s n4', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir, ['base.qcow2', 'a.qcow2', 'b.qcow2', 'c.qcow2']);
  const { client } = await startQemu(t, {
    dir,
    machine: 'pc',
    args: ['-accel', 'tcg', ...blkdebugChainArgs(layers, 1, 'write_aio'), '-device', 'virtio-blk-pci,id=vda,drive=n4'],
  });
  const disk = await resolveDisk(client, 'vda');
  t.equal(disk.device, 'n4', 'QEMU runs the job on the active node');
  const job = await CommitJob.start(client, resolveCommitRange(disk, { active: true }), { onError: 'report' });
  t.same([job.disk, job.device], ['vda', 'n4'], "the job: disk the user's name, device QEMU's");
  const failure = await job
    .waitUntilReady({ timeoutMs: 30_000 })
    .then(() => job.keepOverlay({ timeoutMs: 30_000 }))
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  t.ok(failure instanceof JobFailedError, `the job should fail with JobFailedError (got ${String(failure)})`);
  const e = failure as JobFailedError;
  t.same([e.result.outcome, e.result.error], ['failed', 'Input/output error'], "failed, with QEMU's text");
  t.same({ disk: e.disk, device: e.device }, { disk: 'vda', device: 'n4' }, "the error: disk the user's name, device QEMU's");
  t.same({ disk: e.result.disk, device: e.result.device }, { disk: 'vda', device: 'n4' }, "its result: disk the user's name, device QEMU's");
  t.match(e.message, /^commit job 'commit-vda' on vda \[n4\] failed: Input\/output error/, `the message gives both names: ${e.message}`);
});
