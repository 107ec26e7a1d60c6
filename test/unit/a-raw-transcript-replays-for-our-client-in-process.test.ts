// The unit tier's QEMU: startMockQmp({ trace, model: true }) in this process, on a raw transcript
// (mock-qmp/raw-recorder.py, a plain-socket client against QEMU 7.2 and 10.0). Our own client commits
// through it in milliseconds, QEMU's refusal of a complete before READY reaches it as QEMU sent it,
// and a job it did not ask to keep is gone once concluded.
import path from 'node:path';
import t from 'tap';
import { startMockQmp, readTrace } from '../../mock-qmp/index.js';
import { connect } from '../../src/connect.js';
import { resolveCommitRange } from '../../src/block/address.js';
import { resolveDisk } from '../../src/block/chain.js';
import { CommitJob } from '../../src/jobs/index.js';
import { withoutBlips } from '../../src/jobs/state.js';
import { QmpCommandError } from '../../src/errors.js';
import { fixtureSets } from './helpers/recorded.js';

const WAIT = { timeoutMs: 5000 };
const raw = (dir: string, name: string): string => path.join(dir, 'raw', `${name}.jsonl`);

for (const set of fixtureSets()) {
  t.test(`${set.name}: CommitJob pivots vd0 onto base through the model of a raw transcript`, async (t) => {
    const mock = await startMockQmp({ trace: raw(set.dir, 'active-commit-pivot'), model: true, instant: true });
    t.teardown(() => mock.close());
    const client = await connect(mock.address, { connectTimeoutMs: 2000 });
    t.teardown(() => client.close());
    const started = performance.now();
    const disk = await resolveDisk(client, 'vd0', WAIT);
    t.same(
      disk.layers.map((l) => l.nodeName),
      ['base', 'a', 'b', 'c'],
      'the chain should be the recorded graph, base first',
    );
    const job = await CommitJob.start(client, resolveCommitRange(disk, {}), { jobId: 'unit-job' });
    await job.waitUntilReady(WAIT);
    const result = await job.pivot(WAIT);
    t.equal(result.outcome, 'pivoted', 'the commit should pivot');
    t.same(withoutBlips(result.history), ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'], 'the whole state sequence');
    const after = await resolveDisk(client, 'vd0', WAIT);
    t.same(
      after.layers.map((l) => l.nodeName),
      ['base'],
      'after the pivot the graph should be the one QEMU had: vd0 on base',
    );
    t.ok(performance.now() - started < 2000, 'no QEMU, no recorded waits: the replay should be quick');
  });

  t.test(`${set.name}: complete before READY fails as it failed on QEMU`, async (t) => {
    const qemu = readTrace(raw(set.dir, 'invalid-sequences'));
    // job-complete: the verb no QEMU deprecates (block-job-complete is refused by 11.1's -compat policy).
    const early = qemu.messages.findIndex((m) => m.dir === 'out' && m.msg.execute === 'job-complete' && (m.msg.arguments as { id: string }).id === 'job0');
    const answer = qemu.messages.slice(early).find((m) => m.dir === 'in' && 'error' in m.msg)!.msg.error as { class: string; desc: string };
    const mock = await startMockQmp({ trace: raw(set.dir, 'cancel-while-running'), model: true, instant: true });
    t.teardown(() => mock.close());
    const client = await connect(mock.address, { connectTimeoutMs: 2000 });
    t.teardown(() => client.close());
    await client.execute('block-commit', { 'job-id': 'job0', device: 'c', speed: 1024 * 1024 });
    const error = await client.execute('job-complete', { id: 'job0' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    t.ok(error instanceof QmpCommandError, `the early complete should fail, got ${String(error)}`);
    t.same({ class: (error as QmpCommandError).errorClass, desc: (error as QmpCommandError).desc }, answer, "the error should be QEMU's, class and desc");
  });

  t.test(`${set.name}: a client that did not ask to keep a concluded job sees it gone`, async (t) => {
    // The transcript kept its job (auto-finalize and auto-dismiss off); this client does not.
    const mock = await startMockQmp({ trace: raw(set.dir, 'manual-finalize'), model: true, instant: true });
    t.teardown(() => mock.close());
    const client = await connect(mock.address, { connectTimeoutMs: 2000 });
    t.teardown(() => client.close());
    const since = client.eventCursor();
    await client.execute('block-commit', { 'job-id': 'j', device: 'c' });
    await client.waitForEvent('BLOCK_JOB_READY', { device: 'j' }, { ...WAIT, since });
    await client.execute('job-complete', { id: 'j' });
    await client.waitForEvent('JOB_STATUS_CHANGE', { id: 'j', status: 'null' }, { ...WAIT, since });
    t.same(await client.execute('query-jobs'), [], 'the concluded job should be dismissed, as its client asked');
    const statuses = client
      .recentEvents(since)
      .filter((e) => e.event === 'JOB_STATUS_CHANGE')
      .map((e) => (e.data as { status: string }).status);
    t.same(statuses, ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'], 'no PENDING wait and no dismiss wait for this client');
  });
}
