// A block-graph change on another disk while a commit runs — live snapshots of drive1, a block-commit
// on drive1 that QEMU refuses — drains every running job: QEMU 10 pauses and resumes the commit each
// time (measured: 21 paused→running pairs for one blockdev-snapshot-sync, against 1 on 7.2). The job
// must neither end nor be reported as stopped on an error: only BLOCK_JOB_ERROR / io-status say that.
import path from 'node:path';
import t from 'tap';
import { CommitJob } from '../src/jobs/index.js';
import { QmpCommandError } from '../src/errors.js';
import { compareImages, createImage } from '../src/transport/qemu-img.js';
import { buildSeedChain } from './helpers/chain.js';
import { driveArgs, flatCopy, withoutBlips } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { driveDisk, rangeOf } from './helpers/range.js';

t.test('snapshots and a failed commit of drive1 during an active commit of drive0', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const base = layers[0]!.file;
  const flat = await flatCopy(dir, layers);
  const other = path.join(dir, 'other.qcow2');
  await createImage(other, { format: 'qcow2', size: '12M' });
  const { client, qemu } = await startQemu(t, { dir, args: [...driveArgs(layers), '-drive', `if=none,id=drive1,file=${other},format=qcow2`] });
  const range = rangeOf(await driveDisk(client, layers, 'drive0'), 4, 1);

  // Throttled to 1 byte/s so that it is still running while drive1 changes.
  const job = await CommitJob.start(client, range, { speed: 1 });
  await job.waitForStatus('running', { timeoutMs: 30_000 });
  let stoppedSeen = false;
  job.on('state', () => {
    stoppedSeen ||= job.stoppedOnError;
  });

  for (let i = 1; i <= 3; i++) {
    await client.execute('blockdev-snapshot-sync', { device: 'drive1', 'snapshot-file': path.join(dir, `other-snap${i}.qcow2`), format: 'qcow2' });
  }
  // speed -1: QEMU creates and destroys a job on drive1 before it refuses (a graph change that fails).
  const refused = await client.execute('block-commit', { device: 'drive1', 'job-id': 'other-job', speed: -1 }).then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(refused instanceof QmpCommandError, `the commit on drive1 should be refused (got ${String(refused)})`);

  // The last drain's resume may still be on its way. (On 7.2 each drain also lets the throttled job
  // copy on, so it may have reached READY by now: running or ready, never ended, never stopped.)
  const inProgress = (status: string): boolean => status === 'running' || status === 'ready';
  const deadline = Date.now() + 30_000;
  while (!inProgress(job.status) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  const progress = await job.readProgress();
  const major = client.greeting.QMP.version.qemu.major;
  t.ok(inProgress(progress.status), `the commit on drive0 should still be in progress (query-block-jobs: ${progress.status}; states: ${job.states.join(',')})`);
  t.equal(progress.ioStatus, 'ok', 'query-block-jobs shows no I/O error');
  t.same(job.ioErrors, [], 'no BLOCK_JOB_ERROR');
  t.notOk(job.stoppedOnError, 'the job is not stopped on an error');
  t.comment(`QEMU ${major}: ${job.blips} paused→running blips so far (${job.states.length} statuses)`);
  if (major >= 10) t.ok(job.blips > 0, 'QEMU 10 pauses the job for graph changes on another disk (else this test proves nothing there)');

  await job.setSpeed(0);
  await job.waitUntilReady({ timeoutMs: 60_000 });
  const result = await job.pivot({ timeoutMs: 30_000 });
  t.equal(result.outcome, 'pivoted', 'the commit ends as a pivot');
  t.same(
    withoutBlips(result.history),
    ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'],
    `whole state sequence, blips collapsed (seen: ${result.states.join(',')})`,
  );
  t.same(result.anomalies, [], "every transition is one QEMU's job table allows");
  t.notOk(stoppedSeen, 'never reported as stopped on an error');
  const drives = await client.execute('query-block');
  t.equal(drives.find((d) => d.device === 'drive0')?.inserted?.file, base, 'drive0 now runs on base');
  t.equal(drives.find((d) => d.device === 'drive1')?.inserted?.file, path.join(dir, 'other-snap3.qcow2'), 'drive1 is on its last snapshot');
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  t.ok(await compareImages(base, flat), 'base holds the guest view from before the commit');
});
