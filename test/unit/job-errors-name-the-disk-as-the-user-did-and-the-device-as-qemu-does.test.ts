// A disk the user named "vda" (as the CLI names it: DiskChain.requestedAs) whose QEMU device is
// another name: every error of its job says `disk` "vda" and `device` QEMU's name, whether the job
// failed, was interrupted, or QEMU refused its start or its pivot. Against the model of recorded
// QEMU traffic (mock-qmp), no QEMU started.
import path from 'node:path';
import t, { type Test } from 'tap';
import { startMockQmp, type Fault } from '../../mock-qmp/index.js';
import { connect } from '../../src/connect.js';
import { resolveCommitRange } from '../../src/block/address.js';
import { listDisks } from '../../src/block/chain.js';
import type { QmpClient } from '../../src/protocol/client.js';
import { CommitJob, JobCommandError, JobError, JobFailedError, JobInterruptedError } from '../../src/jobs/index.js';
import { fixtureSets } from './helpers/recorded.js';

const WAIT = { timeoutMs: 5000 };

async function modelled(t: Test, dir: string, trace: string, faults: Fault[] = []): Promise<QmpClient> {
  const mock = await startMockQmp({ trace: path.join(dir, 'raw', trace), model: true, instant: true, faults });
  t.teardown(() => mock.close());
  const client = await connect(mock.address, { connectTimeoutMs: 2000 });
  t.teardown(() => client.close());
  return client;
}

/** The recorded disk (QEMU's device "c", qdev id "vd0"), named "vda" by the user. */
async function vda(client: QmpClient) {
  const [disk] = await listDisks(client, WAIT);
  if (!disk) throw new Error('the recorded QEMU has no disk');
  return { ...disk, requestedAs: 'vda' };
}

function names(t: Test, error: unknown, type: new (...args: never[]) => JobError, device: string, what: string): void {
  t.ok(error instanceof type, `${what}: a ${type.name} (got ${String(error)})`);
  const e = error as JobError;
  t.same({ disk: e.disk, device: e.device }, { disk: 'vda', device }, `${what}: disk is the user's name, device QEMU's`);
  t.match(e.message, `on vda [${device}]`, `${what}: the message gives both: ${e.message}`);
}

for (const set of fixtureSets()) {
  t.test(`${set.name}: a failed job`, async (t) => {
    const client = await modelled(t, set.dir, 'on-error-report.jsonl');
    const disk = await vda(client);
    const job = await CommitJob.start(client, resolveCommitRange(disk, { active: true }), { onError: 'report' });
    t.same([job.disk, job.device], ['vda', disk.device], "the job: disk the user's name, device QEMU's");
    const error = await job.waitUntilReady(WAIT).then(
      () => undefined,
      (e: unknown) => e,
    );
    names(t, error, JobFailedError, disk.device, 'the failure');
    const result = (error as JobFailedError).result;
    t.same([result.outcome, result.disk, result.device], ['failed', 'vda', disk.device], "its result: disk the user's name, device QEMU's");
  });

  t.test(`${set.name}: an interrupted job`, async (t) => {
    // The connection ends where QEMU would say the pivoted job completed.
    const client = await modelled(t, set.dir, 'active-commit-pivot.jsonl', [{ kind: 'close-at-event', event: 'BLOCK_JOB_COMPLETED' }]);
    const { disk, error } = await pivotError(client);
    names(t, error, JobInterruptedError, disk.device, 'the interruption');
    t.ok((error as JobInterruptedError).pivotRequested, 'after the pivot was requested');
  });

  t.test(`${set.name}: a refused start`, async (t) => {
    const refusal: Fault = { kind: 'error-reply', command: 'block-commit', errorClass: 'GenericError', desc: 'refused for this test' };
    const client = await modelled(t, set.dir, 'active-commit-pivot.jsonl', [refusal]);
    const disk = await vda(client);
    const error = await CommitJob.start(client, resolveCommitRange(disk, { active: true })).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(error instanceof JobCommandError, `the refusal: a JobCommandError (got ${String(error)})`);
    const e = error as JobCommandError;
    t.same([e.disk, e.device, e.command], ['vda', disk.device, 'block-commit'], "the refused start: disk the user's name, device QEMU's");
  });

  t.test(`${set.name}: a refused pivot`, async (t) => {
    const refusal: Fault = { kind: 'error-reply', command: 'job-complete', errorClass: 'GenericError', desc: 'refused for this test' };
    const client = await modelled(t, set.dir, 'active-commit-pivot.jsonl', [refusal]);
    const { disk, job, error } = await pivotError(client);
    names(t, error, JobCommandError, disk.device, 'the refused pivot');
    t.equal((error as JobCommandError).verb, 'pivot', 'the refused verb');
    await job.cancel(WAIT);
  });
}

/** An active commit of vda started, waited to READY and pivoted: the pivot's error, if any. */
async function pivotError(client: Parameters<typeof vda>[0]) {
  const disk = await vda(client);
  const job = await CommitJob.start(client, resolveCommitRange(disk, { active: true }));
  await job.waitUntilReady(WAIT);
  const error = await job.pivot(WAIT).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { disk, job, error };
}
