// TestErrorHandling (iotests 040) with on-error "report": blkdebug fails the first read of the top
// being committed, or the first write into base; active and intermediate commit.
import t from 'tap';
import { JobFailedError, type CommitResult } from '../src/jobs/index.js';
import { compareImages } from '../src/transport/qemu-img.js';
import { startIoErrorCase, withoutBlips } from './helpers/jobs.js';

const policy = 'report' as const;

for (const active of [true, false]) {
  for (const operation of ['read', 'write'] as const) {
    t.test(`${active ? 'active' : 'intermediate'} commit, ${operation} error, on-error ${policy}`, async (t) => {
      const { job, layers, flat, quit } = await startIoErrorCase(t, { active, operation, onError: policy });
      const top = active ? 4 : 3;
      const failure = await (active
        ? job.waitUntilReady({ timeoutMs: 30_000 }).then(() => job.keepOverlay({ timeoutMs: 30_000 }))
        : job.wait({ timeoutMs: 30_000 })
      ).catch((e: unknown) => e);
      t.ok(failure instanceof JobFailedError, 'the job should fail with JobFailedError');
      const result = (failure as JobFailedError).result as CommitResult;
      t.equal(result.outcome, 'failed', 'outcome should be failed');
      t.equal(result.error, 'Input/output error', "the job error should be QEMU's text");
      t.same(withoutBlips(result.history), ['created', 'running', 'aborting', 'concluded', 'null'], 'whole state sequence of a failed job');
      t.same(
        result.ioErrors.map((e) => `${e.operation}:${e.action}`),
        [`${operation}:report`],
        'one BLOCK_JOB_ERROR with operation and action',
      );
      t.match((failure as Error).message, /Input\/output error/, "the error message should carry QEMU's text");
      t.same(
        result.invalidated?.files,
        layers.slice(0, top - 1).map((l) => l.file),
        'base and intermediates are no longer trustworthy',
      );
      await quit();
      t.ok(await compareImages(layers[top - 1]!.file, flat, {}), 'the top still reads right');
    });
  }
}
