// A cancel the transcript never recorded: the model of raw/invalid-sequences.jsonl (a throttled commit
// that its client let go and completed) gets a throttled commit cancelled before READY, and the client
// sees what QEMU sent the client of raw/cancel-while-running.jsonl: aborting, BLOCK_JOB_CANCELLED,
// concluded, null — no READY, no COMPLETED — and the graph as before the job.
import path from 'node:path';
import t from 'tap';
import { startMockQmp, readTrace } from '../../mock-qmp/index.js';
import { connect } from '../../src/connect.js';
import { fixtureSets } from './helpers/recorded.js';

const WAIT = { timeoutMs: 5000 };
const shape = (e: { event: string; data?: unknown }): string => (e.event === 'JOB_STATUS_CHANGE' ? (e.data as { status: string }).status : e.event);

for (const set of fixtureSets())
  t.test(`${set.name}: cancel before READY`, async (t) => {
    const qemu = readTrace(path.join(set.dir, 'raw', 'cancel-while-running.jsonl'));
    const expected = qemu.messages
      .filter((m) => m.dir === 'in' && typeof m.msg.event === 'string')
      .map((m) => shape(m.msg as { event: string; data?: unknown }));
    t.same(expected, ['created', 'running', 'aborting', 'BLOCK_JOB_CANCELLED', 'concluded', 'null'], "QEMU's own sequence for a cancel while running");
    const served = readTrace(path.join(set.dir, 'raw', 'invalid-sequences.jsonl'));
    t.notOk(
      served.messages.some((m) => m.msg.execute === 'block-job-cancel' && (m.msg.arguments as { device: string }).device === 'job0'),
      'the served transcript never cancelled its job',
    );

    const mock = await startMockQmp({ trace: served, model: true, instant: true });
    t.teardown(() => mock.close());
    const client = await connect(mock.address, { connectTimeoutMs: 2000 });
    t.teardown(() => client.close());
    const before = await client.execute('query-block');
    const since = client.eventCursor();
    await client.execute('block-commit', { 'job-id': 'mine', device: 'c', speed: 1024 * 1024 });
    await client.execute('block-job-cancel', { device: 'mine' });
    await client.waitForEvent('JOB_STATUS_CHANGE', { id: 'mine', status: 'null' }, { ...WAIT, since });
    t.same(client.recentEvents(since).map(shape), expected, "the client's events should be QEMU's sequence for a cancel while running");
    t.same(await client.execute('query-block'), before, 'a cancelled commit should leave the graph as it was');
  });
