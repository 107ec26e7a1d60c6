// job.waitUntilReady() / waitForStatus() / wait() that time out or are aborted while the job runs
// leave no handler behind: 20,000 abandoned waits keep the heap flat (they once kept ~3 KB each
// until the job ended).
import t from 'tap';
import { CommitJob, QmpTimeoutError, AbortedError } from '../src/internal.js';
import { buildSeedChain } from './helpers/chain.js';
import { heapAfterGc } from './helpers/heap.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { blockdevChainArgs } from './helpers/chain.js';
import { blockdevRange } from './helpers/range.js';

t.test('20,000 abandoned waits on a throttled active commit do not grow the heap', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir, ['base.qcow2', 'a.qcow2', 'b.qcow2', 'c.qcow2']);
  const { client } = await startQemu(t, { dir, args: blockdevChainArgs(layers) });
  // 1 byte/s: the job runs (and never gets READY) for as long as the test needs.
  const job = await CommitJob.start(client, blockdevRange(layers, 4, 1), { speed: 1 });
  t.teardown(() => job.cancel({ timeoutMs: 10_000 }).catch(() => undefined));
  const first = await job.waitUntilReady({ timeoutMs: 1 }).catch((e: unknown) => e);
  t.ok(first instanceof QmpTimeoutError, `a wait that runs out of time is a QmpTimeoutError, got ${String(first)}`);
  const abandon = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      const controller = new AbortController();
      const waits = [
        job.waitUntilReady({ signal: controller.signal }),
        job.waitForStatus('paused', { signal: controller.signal }),
        job.wait({ signal: controller.signal }),
      ];
      controller.abort();
      const outcomes = await Promise.allSettled(waits);
      if (!outcomes.every((o) => o.status === 'rejected' && o.reason instanceof AbortedError))
        throw new Error('an aborted wait did not reject with AbortedError');
    }
  };
  await abandon(2000); // warm-up: code paths compiled, maps grown
  const before = heapAfterGc();
  await abandon(20_000);
  const grownMiB = (heapAfterGc() - before) / 2 ** 20;
  t.ok(grownMiB < 4, `60,000 abandoned waits should leave the heap flat, it grew ${grownMiB.toFixed(1)} MiB`);
  t.equal(job.listenerCount('ready'), 0, 'no ready listener should be left on the job');
  t.same(
    (await client.execute('query-block-jobs')).map((j) => j.device),
    [job.id],
    'the job itself should still run',
  );
});
