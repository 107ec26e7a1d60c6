// TestErrorHandling (iotests 040) with on-error "stop": blkdebug fails the first read of the top
// being committed, or the first write into base; active and intermediate commit.
import t from 'tap';
import { CommitJob, JobFailedError, type CommitResult } from '../src/jobs/index.js';
import { compareImages } from '../src/transport/qemu-img.js';
import { buildSeedChain } from './helpers/chain.js';
import { blkdebugChainArgs, flatCopy } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { blockdevRange } from './helpers/range.js';

const policy = 'stop' as const;

for (const active of [true, false]) {
  for (const operation of ['read', 'write'] as const) {
    t.test(`${active ? 'active' : 'intermediate'} commit, ${operation} error, on-error ${policy}`, async (t) => {
      const dir = tempDir(t);
      const layers = await buildSeedChain(dir, ['base.qcow2', 'a.qcow2', 'b.qcow2', 'c.qcow2']);
      const top = active ? 4 : 3;
      const flat = await flatCopy(dir, active ? layers : layers.slice(0, 3));
      const faulty = operation === 'read' ? top : 1;
      const { client, qemu } = await startQemu(t, { dir, args: blkdebugChainArgs(layers, faulty, operation === 'read' ? 'read_aio' : 'write_aio') });
      const job = await CommitJob.start(client, blockdevRange(layers, top, 1), { onError: policy });
      // Errors may come before start() returns: job.ioErrors has them all.
      const errors = (): string[] => job.ioErrors.map((e) => `${e.operation}:${e.action}`);
      // qcow2 metadata may still sit in QEMU's cache: compare only after a clean quit.
      const quit = async (): Promise<void> => {
        await client.execute('quit').catch(() => {});
        await qemu.exited;
      };
      await job.waitForStatus('paused', { timeoutMs: 30_000 });
      t.same(errors(), [`${operation}:stop`], 'one BLOCK_JOB_ERROR with action stop');
      t.equal((await job.progress()).ioStatus, 'failed', 'query-block-jobs shows io-status failed');
      await job.resume();
      let result: CommitResult;
      if (active) {
        await job.waitUntilReady({ timeoutMs: 30_000 });
        result = await job.pivot({ timeoutMs: 30_000 });
        t.same(result.states, ['created', 'running', 'paused', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'], 'whole state sequence: paused by the error, resumed, ready, pivoted');
        t.equal(result.outcome, 'pivoted', 'outcome should be pivoted');
      } else {
        result = await job.wait({ timeoutMs: 30_000 });
        t.same(result.states, ['created', 'running', 'paused', 'running', 'waiting', 'pending', 'concluded', 'null'], 'whole state sequence: paused by the error, resumed, completed');
        t.equal(result.outcome, 'completed', 'outcome should be completed');
      }
      await quit();
      t.ok(await compareImages(layers[0]!.file, flat, {}), 'after resume, base holds the committed view');
    });
  }
}
