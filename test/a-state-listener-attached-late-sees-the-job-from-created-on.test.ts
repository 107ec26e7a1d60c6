// docs/guide.md attaches job.on('state') after `await CommitJob.start()` (even after READY): the
// listener is first told the whole history, then what comes next — created, running, ready, …, null.
import t from 'tap';
import { CommitJob, type JobStateChange, type JobStatus } from '../src/index.js';
import { buildSeedChain } from './helpers/chain.js';
import { driveArgs, withoutBlips } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { driveDisk, rangeOf } from './helpers/range.js';

t.test('a state listener attached after READY sees the whole active commit', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: driveArgs(layers) });
  const range = rangeOf(await driveDisk(client, layers, 'drive0'), 4, 1);
  const job = await CommitJob.start(client, range);
  await job.waitUntilReady({ timeoutMs: 30_000 });
  const seen: Array<[JobStateChange, JobStatus]> = [];
  job.on('state', (change, previous) => seen.push([change, previous]));
  let readyAt: number | undefined;
  job.once('ready', (at) => (readyAt = at));
  const result = await job.pivot({ timeoutMs: 30_000 });
  t.same(
    withoutBlips(seen.map(([c]) => c)),
    ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'],
    `the late listener sees every state (seen ${seen.map(([c]) => c.status).join(',')})`,
  );
  t.same(
    seen.map(([, previous]) => previous),
    ['undefined', ...seen.slice(0, -1).map(([c]) => c.status)],
    'each change names the state before it',
  );
  t.same(
    seen.map(([c]) => c),
    result.history,
    "what the listener saw is the result's history",
  );
  t.ok(readyAt !== undefined && Math.abs(readyAt - Date.now()) < 600_000, `READY is told to a late once() listener, in ms since the epoch (${readyAt})`);
});
