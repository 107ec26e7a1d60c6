// set-speed while running (iotests test_set_speed); a negative speed is a typed error and starts nothing.
import t from 'tap';
import { CommitJob, JobOptionError } from '../src/jobs/index.js';
import { buildSeedChain } from './helpers/chain.js';
import { driveArgs, withoutBlips } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { driveDisk, rangeOf } from './helpers/range.js';

t.test('set speed', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: driveArgs(layers) });
  const range = rangeOf(await driveDisk(client, layers, 'drive0'), 4, 1);

  const bad = await CommitJob.start(client, range, { speed: -1 }).catch((e: unknown) => e);
  t.ok(bad instanceof JobOptionError, 'speed -1 should be a JobOptionError');
  t.match((bad as JobOptionError).message, /speed/, 'the message should name the speed');
  t.equal((bad as JobOptionError).disk, 'drive0', 'the error should name the disk');
  t.same(await client.execute('query-jobs'), [], 'no job should exist after a refused start');

  const job = await CommitJob.start(client, range, { speed: 64 * 1024 });
  t.equal((await job.readProgress()).speed, 64 * 1024, 'initial speed should be what was asked');
  await job.setSpeed(256 * 1024);
  t.equal((await job.readProgress()).speed, 256 * 1024, 'speed should change while running');
  await t.rejects(job.setSpeed(-1), JobOptionError, 'a negative speed should be refused');
  await job.setSpeed(0);
  const progress = await job.readProgress();
  t.equal(progress.speed, 0, 'speed 0 lifts the limit');
  await job.waitUntilReady({ timeoutMs: 30_000 });
  const result = await job.pivot({ timeoutMs: 30_000 });
  t.same(withoutBlips(result.history), ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'], 'whole state sequence');
});
