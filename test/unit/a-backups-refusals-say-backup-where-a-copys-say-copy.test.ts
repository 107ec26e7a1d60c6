// A backup refused before it starts says "backup", in the words of the kinds table, never a copy's
// or a mirror's (whose destination code it shares): a target that exists (and no advice to reuse it,
// which only a copy can), a target that cannot be created, a backup of the disk already running
// (its id is the disk's: no advice to choose another), another job on the disk. A copy's words stay.
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { DiskChain } from '../../src/block/types.js';
import { describeFailure } from '../../src/cli/run.js';
import { busyDiskError, type Preflight } from '../../src/jobs/discovery.js';
import { JOB_KINDS } from '../../src/jobs/kinds.js';
import { planMirror } from '../../src/jobs/mirror-options.js';
import { prepareDestination } from '../../src/jobs/mirror-target.js';

const disk: DiskChain = {
  device: 'drive0',
  target: 'vda',
  layers: ['/i/base.qcow2', '/i/top.qcow2'].map((file, i) => ({ index: i + 1, nodeName: `n${i}`, file, format: 'qcow2', virtualSize: 1 << 20 })),
};

function running(id: string, diskBusy: boolean): Preflight {
  return { jobs: [{ device: id, status: 'running', type: 'backup' } as never], diskBusy, verbs: {} as never };
}

async function rejected(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error as Error,
  );
}

t.test("a backup's refusals say backup", async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'qbj-backup-words-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const existing = path.join(dir, 'full.qcow2');
  await writeFile(existing, '');
  const nowhere = path.join(dir, 'no-dir', 'full.qcow2');
  const plan = (file: string) => planMirror(disk, { file, format: 'qcow2' }, { jobId: 'backup-vda' }, new Set());
  const backup = JOB_KINDS.backup;
  const cases: Array<[string, Error | undefined, string]> = [
    [
      'a target that exists',
      await rejected(prepareDestination(plan(existing), existing, { disk: 'drive0' }, undefined, backup)),
      `cannot start a backup to ${existing}: it exists already (EEXIST: file already exists, open '${existing}')`,
    ],
    [
      'a target that cannot be created',
      await rejected(prepareDestination(plan(nowhere), nowhere, { disk: 'drive0' }, undefined, backup)),
      `cannot start a backup to ${nowhere}: it cannot be created (ENOENT: no such file or directory, open '${nowhere}')`,
    ],
    [
      'a backup of the disk already running',
      busyDiskError(backup, disk, 'backup-vda', running('backup-vda', true), false, false),
      "cannot start a backup on vda [drive0]: job id 'backup-vda' is already in use (status running); end it, or wait for it to end",
    ],
    [
      'another job on the disk',
      busyDiskError(backup, disk, 'backup-vda', running('commit-vda', true), false, false),
      'cannot start a backup on vda [drive0]: the disk already has a block job running (commit-vda); end it, or wait for it to end',
    ],
  ];
  for (const [what, error, said] of cases) {
    t.ok(error, `${what}: refused`);
    t.equal(describeFailure(error), said, `${what}: the CLI prints the backup's words`);
    t.notMatch(error?.message ?? '', /\bcop(y|ies)\b|\bmirror\b|reuse/i, `${what}: no copy's or mirror's words: ${error?.message}`);
  }
  const copy = await rejected(prepareDestination(plan(existing), existing, { disk: 'drive0' }));
  t.equal(copy.message, `cannot copy to ${existing}: it exists already (give reuseExisting to copy into it)`, "a copy's refusal keeps its words");
});
