// start(…, { cancelSignal }): once the job exists, the signal cancels it (forced, as job.cancel()) and
// wait() resolves with outcome "aborted", the guest on top and its view unchanged; a signal that fired
// before the start leaves no job and the chain as it was. Each job method takes { signal, timeoutMs }.
import t from 'tap';
import { AbortedError, CommitJob } from '../src/index.js';
import { compareImages } from '../src/transport/qemu-img.js';
import { buildSeedChain } from './helpers/chain.js';
import { driveArgs, flatCopy, withoutBlips } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { driveDisk, rangeOf } from './helpers/range.js';

t.test('a cancelSignal that fires while the job runs cancels it', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const top = layers[3]!.file;
  const flat = await flatCopy(dir, layers);
  const { client } = await startQemu(t, { dir, args: driveArgs(layers) });
  const range = rangeOf(await driveDisk(client, layers, 'drive0'), 4, 1);
  const stop = new AbortController();
  const job = await CommitJob.start(client, range, { speed: 256 * 1024, cancelSignal: stop.signal });
  t.equal(job.status, 'running', 'the job runs once start() resolved');
  // Every job method takes { signal, timeoutMs }: a live signal and a bound change nothing here.
  const live = new AbortController();
  await job.setSpeed(128 * 1024, { signal: live.signal, timeoutMs: 10_000 });
  await job.pause({ timeoutMs: 10_000 });
  await job.resume({ signal: live.signal });
  // A signal that already fired stops the call at once, the job untouched.
  await t.rejects(job.setSpeed(0, { signal: AbortSignal.abort() }), AbortedError, 'an aborted signal stops setSpeed before it is sent');
  stop.abort();
  const result = await job.wait({ timeoutMs: 30_000 });
  t.equal(result.outcome, 'aborted', 'the signal should cancel the job');
  t.same(
    withoutBlips(result.history),
    ['created', 'running', 'aborting', 'concluded', 'null'],
    `whole state sequence of a cancel (seen ${result.states.join(',')})`,
  );
  const drive = (await client.execute('query-block')).find((d) => d.device === 'drive0');
  t.equal(drive?.inserted?.file, top, 'drive0 should still run on the top image');
  t.ok(await compareImages(top, flat, { forceShare: true }), "the guest's view must be unchanged");
  t.same(await client.execute('query-block-jobs'), [], 'no job is left in QEMU');
});

t.test('a cancelSignal that fired before the start starts nothing', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: driveArgs(layers) });
  const range = rangeOf(await driveDisk(client, layers, 'drive0'), 4, 1);
  const before = await client.execute('query-named-block-nodes', { flat: true });
  const since = client.eventCursor();
  await t.rejects(CommitJob.start(client, range, { cancelSignal: AbortSignal.abort(new Error('user gave up')) }), AbortedError, 'the start should be aborted');
  t.same(await client.execute('query-block-jobs'), [], 'no job was started');
  t.same(await client.execute('query-named-block-nodes', { flat: true }), before, 'the block graph is as it was');
  t.same(
    client.recentEvents(since).filter((e) => e.event.includes('JOB')),
    [],
    'QEMU saw no job at all',
  );
});
