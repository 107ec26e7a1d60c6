// TestErrorHandling (iotests 040) with on-error "stop": blkdebug fails the first read of the top
// being committed, or the first write into base; active and intermediate commit.
import t from 'tap';
import type { CommitResult } from '../src/jobs/index.js';
import { compareImages } from '../src/transport/qemu-img.js';
import { startIoErrorCase, withoutBlips } from './helpers/jobs.js';

const policy = 'stop' as const;

for (const active of [true, false]) {
  for (const operation of ['read', 'write'] as const) {
    t.test(`${active ? 'active' : 'intermediate'} commit, ${operation} error, on-error ${policy}`, async (t) => {
      const { job, layers, flat, errors, quit } = await startIoErrorCase(t, { active, operation, onError: policy });
      await job.waitForErrorStop({ timeoutMs: 30_000 });
      t.ok(job.stoppedOnError, 'the job says it stopped on the error (from BLOCK_JOB_ERROR, not from paused alone)');
      t.same(errors(), [`${operation}:stop`], 'one BLOCK_JOB_ERROR with action stop');
      t.equal((await job.readProgress()).ioStatus, 'failed', 'query-block-jobs shows io-status failed');
      await job.resume();
      let result: CommitResult;
      if (active) {
        await job.waitUntilReady({ timeoutMs: 30_000 });
        // A bare -blockdev chain has no user to switch: end the job keeping the overlay.
        result = await job.keepOverlay({ timeoutMs: 30_000 });
        t.same(
          withoutBlips(result.history),
          ['created', 'running', 'paused', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'],
          'whole state sequence: paused by the error, resumed, ready, ended at READY',
        );
        t.equal(result.outcome, 'overlay-kept', 'outcome should be overlay-kept');
      } else {
        result = await job.wait({ timeoutMs: 30_000 });
        t.same(
          withoutBlips(result.history),
          ['created', 'running', 'paused', 'running', 'waiting', 'pending', 'concluded', 'null'],
          'whole state sequence: paused by the error, resumed, completed',
        );
        t.equal(result.outcome, 'completed', 'outcome should be completed');
      }
      await quit();
      t.ok(await compareImages(layers[0]!.file, flat, {}), 'after resume, base holds the committed view');
    });
  }
}
