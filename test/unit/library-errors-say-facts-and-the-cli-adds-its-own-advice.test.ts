// An embedder gets the library's facts in plain words and no advice about a CLI it does not run;
// the CLI puts its own commands and flags in (src/cli/next-step.ts), and what it prints stays what
// it printed when the advice was in the library's messages.
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveCommitRange } from '../../src/block/address.js';
import { SnapshotOutcomeUnknownError } from '../../src/block/errors.js';
import type { DiskChain } from '../../src/block/types.js';
import { describeFailure } from '../../src/cli/run.js';
import { MonitorBusyError } from '../../src/errors.js';
import { busyDiskError } from '../../src/jobs/discovery.js';
import { JOB_KINDS } from '../../src/jobs/kinds.js';
import { JobInterruptedError, JobStartUnknownError, MirrorTargetError } from '../../src/jobs/errors.js';
import { planMirror } from '../../src/jobs/mirror-options.js';
import { prepareDestination } from '../../src/jobs/mirror-target.js';

/** What only the CLI has: its commands in quotes, its flags, its own name. */
const CLI_WORDS = /'(chain|jobs?|blocks|commit|pull|copy|share|snapshot|events)\b|(^|[\s(])--[a-z]|qmp-blockjob|virsh --/;

const disk: DiskChain = {
  device: 'drive0',
  target: 'vda',
  layers: ['/i/base.qcow2', '/i/top.qcow2'].map((file, i) => ({ index: i + 1, nodeName: `n${i}`, file, format: 'qcow2', virtualSize: 1 << 20 })),
};

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

async function rejected(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as Error,
  );
}

t.test('each library error: a message without CLI words; the CLI says what it said before', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'qbj-advice-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const existing = path.join(dir, 'dest.qcow2');
  await writeFile(existing, '');
  const plan = planMirror(disk, { file: existing, format: 'qcow2' }, {}, new Set());
  const cases: [string, Error, string][] = [
    [
      'a monitor held by another client',
      new MonitorBusyError('/run/q.sock', 1000),
      "cannot connect to /run/q.sock: the QMP monitor is in use by another client (no greeting within 1000 ms; QEMU serves one client per monitor): close that client, add another -qmp monitor, or run it through 'qmp-blockjob share'",
    ],
    [
      'a job id held by a failed job',
      busyDiskError(
        JOB_KINDS.commit,
        disk,
        'j1',
        { jobs: [{ device: 'j1', status: 'concluded' } as never], diskBusy: false, sameIdError: 'No space left on device', verbs: {} as never },
        true,
      )!,
      "cannot start commit on vda [drive0]: job id 'j1' is already in use (status concluded: it failed: No space left on device; 'jobs' shows and dismisses it); attach to it or choose another id",
    ],
    [
      'a start whose reply never came, jobs unread',
      new JobStartUnknownError(
        "no reply; job 'j1' may be running in QEMU now: check QEMU's jobs and the chain before trusting or deleting any image",
        { jobId: 'j1' },
        true,
      ),
      "no reply; job 'j1' may be running in QEMU now: check 'jobs' and the chain before trusting or deleting any image",
    ],
    [
      'an interruption after the pivot was requested',
      new JobInterruptedError({
        jobId: 'j1',
        disk: 'vda',
        device: 'drive0',
        lastStatus: 'ready',
        how: 'the connection to QEMU was lost',
        pivotRequested: true,
        images: { top: '/i/top.qcow2', base: '/i/base.qcow2', above: [], between: [] },
      }),
      "commit job 'j1' on vda [drive0] was interrupted after the pivot was requested (block-job-complete sent, last status ready): the connection to QEMU was lost. If QEMU carried the pivot out (it normally does within milliseconds), the disk now runs on base /i/base.qcow2 and the guest writes into it, so /i/top.qcow2 is no longer the disk: do not boot from it. Check which image the disk runs on with 'chain vda' (query-block) before anything else; delete nothing.",
    ],
    [
      'a snapshot whose outcome and chains are unknown',
      new SnapshotOutcomeUnknownError(
        'no reply, and the chains cannot be read now: the guest may already run on /i/s.qcow2 — do not delete it',
        'vda',
        undefined,
        true,
      ),
      "no reply, and the chains cannot be read now: the guest may already run on /i/s.qcow2 — do not delete it; check with 'chain'",
    ],
    [
      'a copy onto a file that exists',
      await rejected(prepareDestination(plan, existing, { disk: 'vda' })),
      `cannot copy to ${existing}: it exists already (give reuseExisting / --reuse-external to copy into it) (EEXIST: file already exists, open '${existing}')`,
    ],
    [
      'a reused shallow destination holding data',
      new MirrorTargetError(
        'cannot reuse the destination /i/d.qcow2 for a shallow copy: it already holds 512 bytes of its own; start from an empty overlay, or say it is meant (allowExistingData)',
        { disk: 'vda' },
        '/i/d.qcow2',
        false,
        undefined,
        'holds-data',
      ),
      'cannot reuse the destination /i/d.qcow2 for a shallow copy: it already holds 512 bytes of its own; start from an empty overlay, or say it is meant (allowExistingData / --allow-existing-data)',
    ],
    [
      'an active layer committed without asking',
      thrown(() => resolveCommitRange(disk, { active: false })),
      "invalid commit range on disk 'vda': top [2] /i/top.qcow2 is the active layer: committing it is an active commit, which has to be asked for (virsh --active)",
    ],
  ];
  for (const [what, error, cli] of cases) {
    t.notMatch(error.message, CLI_WORDS, `${what}: the library's message should name no CLI command or flag: ${error.message}`);
    t.equal(describeFailure(error), cli, `${what}: the CLI should print what it printed before`);
  }
});
