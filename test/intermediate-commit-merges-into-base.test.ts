// Intermediate commit (b.qcow2 into base.raw) runs to completion by itself: the whole state sequence,
// the image above top now backs onto base, the guest view is unchanged, a.qcow2 is reported invalid.
import path from 'node:path';
import t from 'tap';
import { CommitJob } from '../src/jobs/index.js';
import { compareImages, convertImage, imageChain, qemuIo } from '../src/transport/qemu-img.js';
import { blockdevChainArgs, buildSeedChain, expectedView, readChecks } from './helpers/chain.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { backingOf, blockdevRange } from './helpers/range.js';
import { withoutBlips } from './helpers/jobs.js';

t.test('intermediate commit n3 into n1', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const [base, a, b, c] = layers.map((l) => l.file) as [string, string, string, string];
  const flat = path.join(dir, 'flat.raw');
  await convertImage(c, flat);
  const { client } = await startQemu(t, { dir, args: blockdevChainArgs(layers) });

  const job = await CommitJob.start(client, blockdevRange(layers, 3, 1));
  t.equal(job.id, 'commit-n4', 'default job id should be commit-<device>');
  const result = await job.wait({ timeoutMs: 30_000 });

  t.same(
    withoutBlips(result.history),
    ['created', 'running', 'waiting', 'pending', 'concluded', 'null'],
    'intermediate commit should go through exactly these states',
  );
  t.equal(result.outcome, 'completed', 'outcome should be completed');
  t.equal(result.error, undefined, 'no error expected');
  t.same(result.anomalies, [], 'no impossible transition expected');
  t.equal(result.len, 12 * 1024 * 1024, 'intermediate commit len is the whole disk');
  t.ok(result.timings.totalMs !== undefined && result.timings.totalMs >= 0, 'timings come from QEMU timestamps');
  t.equal(await backingOf(client, 'n4'), base, 'the image above top should now back onto base');
  t.equal((await imageChain(c, { forceShare: true }))[0]?.['backing-filename'], base, 'c.qcow2 on disk should record base as backing');
  t.ok(await compareImages(c, flat, { forceShare: true }), 'guest view (c.qcow2 chain) must equal the pre-commit flattened copy');
  await qemuIo(c, readChecks(expectedView(layers)), { format: 'qcow2', forceShare: true });
  t.same(result.invalidated, { files: [a], stillValid: [base, b, c], removedFromChain: [a, b] }, 'only the intermediate a.qcow2 is invalid in isolation');
});
