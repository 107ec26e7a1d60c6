// Cancel after READY ("keep overlay"): QEMU 7.2 ends it with BLOCK_JOB_COMPLETED; the guest stays on
// top with its content unchanged, base holds the merged data, the intermediates are invalid.
import t from 'tap';
import { CommitJob } from '../src/jobs/index.js';
import { compareImages } from '../src/transport/qemu-img.js';
import { buildSeedChain } from './helpers/chain.js';
import { driveArgs, flatCopy, withoutBlips } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { driveDisk, rangeOf } from './helpers/range.js';

t.test('keep overlay', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const [base, a, b, c] = layers.map((l) => l.file) as [string, string, string, string];
  const flat = await flatCopy(dir, layers);
  const { client } = await startQemu(t, { dir, args: driveArgs(layers) });
  const job = await CommitJob.start(client, rangeOf(await driveDisk(client, layers, 'drive0'), 4, 1));
  await job.waitUntilReady({ timeoutMs: 30_000 });
  const result = await job.keepOverlay({ timeoutMs: 30_000 });
  t.same(withoutBlips(result.history), ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'], 'cancel after READY state sequence');
  t.equal(result.outcome, 'overlay-kept', 'outcome should be overlay-kept');
  const drive = (await client.execute('query-block')).find((d) => d.device === 'drive0');
  t.equal(drive?.inserted?.file, c, 'drive0 should still run on the top image');
  t.equal(drive?.inserted?.backing_file_depth, 3, 'the chain should still be 4 images');
  t.ok(await compareImages(c, flat, { forceShare: true }), 'the guest view must be unchanged');
  t.ok(await compareImages(base, flat, { forceShare: true }), 'base should hold the merged data');
  t.same(result.invalidated, { files: [a, b], stillValid: [base, c], removedFromChain: [] }, 'only the intermediates are invalid');
});
