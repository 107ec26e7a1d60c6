// Active commit of the whole chain into base, then pivot: READY from the job's own events, base
// equals the pre-commit guest view byte for byte, the drive now runs on base.
import t from 'tap';
import { CommitJob } from '../src/jobs/index.js';
import { compareImages } from '../src/transport/qemu-img.js';
import { buildSeedChain } from './helpers/chain.js';
import { driveArgs, flatCopy, withoutBlips } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { driveDisk, rangeOf } from './helpers/range.js';

t.test('active commit + pivot', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const [base, a, b, c] = layers.map((l) => l.file) as [string, string, string, string];
  const flat = await flatCopy(dir, layers);
  const { client } = await startQemu(t, { dir, args: driveArgs(layers) });
  const range = rangeOf(await driveDisk(client, layers, 'drive0'), 4, 1);

  const job = await CommitJob.start(client, range);
  const seen: string[] = [];
  job.on('state', (change) => seen.push(change.status));
  await job.waitUntilReady({ timeoutMs: 30_000 });
  t.ok(job.isReady, 'job should say it is ready');
  const progress = await job.readProgress();
  t.equal(progress.ready, true, 'query-block-jobs should agree the job is ready');
  const result = await job.pivot({ timeoutMs: 30_000 });

  t.same(withoutBlips(result.history), ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'], 'active commit + pivot state sequence');
  t.same(seen, result.states.slice(job.states.length - seen.length), 'the state events should match the recorded sequence');
  t.equal(result.outcome, 'pivoted', 'outcome should be pivoted');
  t.ok(result.timings.msToReady !== undefined && result.timings.msToReady >= 0, 'time to READY should come from QEMU timestamps');
  const drive = (await client.execute('query-block')).find((d) => d.device === 'drive0');
  t.equal(drive?.inserted?.file, base, 'drive0 should now run on base');
  t.equal(drive?.inserted?.backing_file_depth, 0, 'the chain should be just base');
  t.ok(await compareImages(base, flat, { forceShare: true }), 'base must equal the pre-commit guest view byte for byte');
  t.same(
    result.invalidated,
    { files: [a, b, c], stillValid: [base], removedFromChain: [a, b, c] },
    'after a pivot the intermediates and the old top are invalid',
  );
});
