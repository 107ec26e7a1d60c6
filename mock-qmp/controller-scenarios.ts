/*
 * Scenarios that drive the commit controller (src/jobs) rather than raw QMP. record-fixtures records
 * them against a real QEMU; the replay test runs the very same functions against mock-qmp and expects
 * the same outcome and state sequence — the controller's job tests, a second time, without QEMU.
 */
import { lstatSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveCommitRange, resolvePullRange } from '../src/block/address.js';
import { resolveDisk } from '../src/block/chain.js';
import { BackupJob, CommitJob, MirrorJob, StreamJob, type CommitOptions } from '../src/jobs/index.js';
import { JobInterruptedError } from '../src/jobs/errors.js';
import { withoutBlips } from '../src/jobs/state.js';
import type { QmpClient } from '../src/protocol/client.js';
import type { JobStatus } from '../src/qapi/types.js';

export interface ControllerSummary {
  outcome: string;
  states: JobStatus[];
  error?: string;
}

export interface ControllerScenario {
  name: string;
  note: string;
  /** 'drive': -drive drive0 on c.qcow2; 'blkdebug': -blockdev n1..n4 with blkdebug under n2 (write_aio errno 5, once). */
  setup: 'drive' | 'blkdebug';
  /** Kill QEMU at this point (the recorder's trace then ends with end=qemu). */
  killQemu?: boolean;
  /** What the live run must show; the replay must show the same. */
  expect: ControllerSummary;
  run(client: QmpClient, options: { jobId?: string; kill?: () => Promise<void> }): Promise<ControllerSummary>;
}

const WAIT = { timeoutMs: 30_000 };

/** Active commit of drive0's whole chain, then pivot or keep the overlay once READY. */
async function activeCommit(
  client: QmpClient,
  jobId: string | undefined,
  finish: 'pivot' | 'keepOverlay',
  options: CommitOptions = {},
): Promise<ControllerSummary> {
  const range = resolveCommitRange(await resolveDisk(client, 'drive0', WAIT), {});
  const job = await CommitJob.start(client, range, { ...options, ...(jobId ? { jobId } : {}) });
  await job.waitUntilReady(WAIT);
  const result = await job[finish](WAIT);
  return { outcome: result.outcome, states: withoutBlips(result.history) };
}

/**
 * Where the copy scenario puts its destination, at recording and at replay alike: the replay must
 * send the recorded file name. A folder of our own (0700, no link) in the temporary directory.
 */
function copyFixtureDestination(name = 'copy.qcow2'): string {
  const dir = path.join(os.tmpdir(), 'qmp-blockjob-copy-fixture');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info = lstatSync(dir);
  if (!info.isDirectory() || (process.getuid && info.uid !== process.getuid())) throw new Error(`${dir} is not a folder of ours: not copying into it`);
  const file = path.join(dir, name);
  rmSync(file, { force: true });
  return file;
}

export const controllerScenarios: ControllerScenario[] = [
  {
    name: 'controller-active-pivot',
    note: 'CommitJob: resolveDisk(drive0), active commit, waitUntilReady, pivot',
    setup: 'drive',
    expect: { outcome: 'pivoted', states: ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'] },
    run: (client, { jobId }) => activeCommit(client, jobId, 'pivot'),
  },
  {
    name: 'controller-keep-overlay',
    note: 'CommitJob: active commit, waitUntilReady, keepOverlay (cancel after READY ends in COMPLETED)',
    setup: 'drive',
    expect: { outcome: 'overlay-kept', states: ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'] },
    run: (client, { jobId }) => activeCommit(client, jobId, 'keepOverlay'),
  },
  {
    name: 'controller-intermediate',
    note: "CommitJob: intermediate commit --top 'drive0[3]' --base 'drive0[1]', run to completion",
    setup: 'drive',
    expect: { outcome: 'completed', states: ['created', 'running', 'waiting', 'pending', 'concluded', 'null'] },
    async run(client, { jobId }) {
      const range = resolveCommitRange(await resolveDisk(client, 'drive0', WAIT), { top: 'drive0[3]', base: 'drive0[1]' });
      const job = await CommitJob.start(client, range, jobId ? { jobId } : {});
      const result = await job.wait(WAIT);
      return { outcome: result.outcome, states: withoutBlips(result.history) };
    },
  },
  {
    name: 'controller-manual-finalize',
    note: 'CommitJob with autoFinalize=false autoDismiss=false: the controller finalizes and dismisses, reading query-jobs first',
    setup: 'drive',
    expect: { outcome: 'pivoted', states: ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'] },
    run: (client, { jobId }) => activeCommit(client, jobId, 'pivot', { autoFinalize: false, autoDismiss: false }),
  },
  {
    name: 'controller-io-error-stop',
    note: 'CommitJob: intermediate commit n3 into n2 on blkdebug (write_aio errno 5, once), on-error=stop: paused, resume, completed',
    setup: 'blkdebug',
    expect: { outcome: 'completed', states: ['created', 'running', 'paused', 'running', 'waiting', 'pending', 'concluded', 'null'] },
    async run(client, { jobId }) {
      const range = resolveCommitRange(await resolveDisk(client, 'n4', WAIT), { topNode: 'n3', baseNode: 'n2' });
      const job = await CommitJob.start(client, range, { onError: 'stop', ...(jobId ? { jobId } : {}) });
      await job.waitForErrorStop(WAIT);
      await job.resume();
      const result = await job.wait(WAIT);
      return { outcome: result.outcome, states: withoutBlips(result.history) };
    },
  },
  {
    name: 'controller-qemu-killed',
    note: 'CommitJob: throttled active commit, QEMU killed mid-job: JobInterruptedError saying what is still valid',
    setup: 'drive',
    killQemu: true,
    expect: { outcome: 'interrupted', states: ['created', 'running'], error: 'JobInterruptedError' },
    async run(client, { jobId, kill }) {
      const range = resolveCommitRange(await resolveDisk(client, 'drive0', WAIT), {});
      const job = await CommitJob.start(client, range, { speed: 64 * 1024, ...(jobId ? { jobId } : {}) });
      await job.waitForStatus('running', WAIT);
      await kill?.();
      try {
        await job.wait(WAIT);
        return { outcome: 'not interrupted', states: withoutBlips(job.history) };
      } catch (error) {
        if (!(error instanceof JobInterruptedError)) throw error;
        return { outcome: 'interrupted', states: withoutBlips(job.history), error: error.name };
      }
    },
  },
  {
    name: 'controller-pull',
    note: 'StreamJob: pull of the whole chain of drive0 into c.qcow2, run to completion',
    setup: 'drive',
    expect: { outcome: 'completed', states: ['created', 'running', 'waiting', 'pending', 'concluded', 'null'] },
    async run(client, { jobId }) {
      const range = resolvePullRange(await resolveDisk(client, 'drive0', WAIT), {});
      const job = await StreamJob.start(client, range, jobId ? { jobId } : {});
      const result = await job.wait(WAIT);
      return { outcome: result.outcome, states: withoutBlips(result.history) };
    },
  },
  {
    name: 'controller-copy-pivot',
    note: 'MirrorJob: copy of drive0 to a new qcow2 (node copy-dest), waitUntilReady, pivot',
    setup: 'drive',
    expect: { outcome: 'pivoted', states: ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'] },
    async run(client, { jobId }) {
      const file = copyFixtureDestination();
      try {
        // The node name is given: derived from the job id, it would differ from the recorded one.
        const job = await MirrorJob.start(client, await resolveDisk(client, 'drive0', WAIT), { file }, { nodeName: 'copy-dest', ...(jobId ? { jobId } : {}) });
        await job.waitUntilReady(WAIT);
        const result = await job.pivot(WAIT);
        return { outcome: result.outcome, states: withoutBlips(result.history) };
      } finally {
        rmSync(file, { force: true });
      }
    },
  },
  {
    name: 'controller-backup',
    note: 'BackupJob: full backup of drive0 into a new qcow2 (node backup-drive0-dest, one transaction), to completion',
    setup: 'drive',
    expect: { outcome: 'completed', states: ['created', 'running', 'waiting', 'pending', 'concluded', 'null'] },
    // A backup's job id is the library's own (backup-drive0): the scenario's job id does not apply.
    async run(client) {
      const file = copyFixtureDestination('backup.qcow2');
      try {
        const [job] = await BackupJob.start(client, [{ disk: await resolveDisk(client, 'drive0', WAIT), target: file }]);
        const result = await job!.wait(WAIT);
        return { outcome: result.outcome, states: withoutBlips(result.history) };
      } finally {
        rmSync(file, { force: true });
      }
    },
  },
];
