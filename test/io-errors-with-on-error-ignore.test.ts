// TestErrorHandling (iotests 040) with on-error "ignore": blkdebug fails the first read of the top
// being committed, or the first write into base; active and intermediate commit.
import t from 'tap';
import type { CommitResult } from '../src/jobs/index.js';
import { compareImages } from '../src/transport/qemu-img.js';
import { startIoErrorCase, withoutBlips } from './helpers/jobs.js';

const policy = 'ignore' as const;

for (const active of [true, false]) {
  for (const operation of ['read', 'write'] as const) {
    t.test(`${active ? 'active' : 'intermediate'} commit, ${operation} error, on-error ${policy}`, async (t) => {
      const { job, layers, flat, errors, quit } = await startIoErrorCase(t, { active, operation, onError: policy });
      let result: CommitResult;
      if (active) {
        await job.waitUntilReady({ timeoutMs: 30_000 });
        // A bare -blockdev chain has no user to switch: end the job keeping the overlay.
        result = await job.keepOverlay({ timeoutMs: 30_000 });
        t.same(
          withoutBlips(result.history),
          ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'],
          'whole state sequence: error ignored, ready, ended at READY',
        );
      } else {
        result = await job.wait({ timeoutMs: 30_000 });
        t.same(
          withoutBlips(result.history),
          ['created', 'running', 'waiting', 'pending', 'concluded', 'null'],
          'whole state sequence: error ignored, completed',
        );
      }
      t.same(errors(), [`${operation}:ignore`], 'one BLOCK_JOB_ERROR with action ignore');
      t.same(
        result.ioErrors.map((e) => `${e.operation}:${e.action}`),
        [`${operation}:ignore`],
        'the result keeps the I/O error',
      );
      t.equal(result.error, undefined, 'the job itself succeeds (commit retries the request)');
      await quit();
      t.ok(await compareImages(layers[0]!.file, flat, {}), 'base holds the committed view');
    });
  }
}
