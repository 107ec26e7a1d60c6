// A speed-limited active commit aborted while running: forced cancel, BLOCK_JOB_CANCELLED, guest on top, content unchanged.
import { existsSync } from 'node:fs';
import t from 'tap';
import { CommitJob, deleteCommittedImages, ImageDeletionError } from '../src/jobs/index.js';
import { compareImages } from '../src/transport/qemu-img.js';
import { buildSeedChain } from './helpers/chain.js';
import { driveArgs, flatCopy, withoutBlips } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { driveDisk, rangeOf } from './helpers/range.js';

t.test('abort while running', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const [base, a, b, c] = layers.map((l) => l.file) as [string, string, string, string];
  const flat = await flatCopy(dir, layers);
  const { client } = await startQemu(t, { dir, args: driveArgs(layers) });
  const range = rangeOf(await driveDisk(client, layers, 'drive0'), 4, 1);
  const job = await CommitJob.start(client, range, { speed: 512 * 1024 });
  t.equal(job.status, 'running', 'created and running arrive before the block-commit reply');
  const result = await job.cancel({ timeoutMs: 30_000 });
  t.same(withoutBlips(result.history), ['created', 'running', 'aborting', 'concluded', 'null'], 'abort state sequence');
  t.equal(result.outcome, 'aborted', 'outcome should be aborted');
  const drive = (await client.execute('query-block')).find((d) => d.device === 'drive0');
  t.equal(drive?.inserted?.file, c, 'drive0 should still run on the top image');
  t.ok(await compareImages(c, flat, { forceShare: true }), 'the guest view must be unchanged');
  t.same(result.invalidated, { files: [base, a, b], stillValid: [c], removedFromChain: [] }, 'base is partly written, intermediates invalid, top valid');
  await t.rejects(deleteCommittedImages(client, range, result), ImageDeletionError, 'deleting after an aborted commit must be refused');
  for (const file of [base, a, b, c]) t.ok(existsSync(file), `${file} must still be there`);
});
