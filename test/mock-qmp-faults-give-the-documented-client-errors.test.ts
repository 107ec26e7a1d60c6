// Each injected fault gives the client its documented error, never a hang.
import t, { type Test } from 'tap';
import { ConnectionClosedError, ProtocolError, QmpClient, QmpCommandError, QmpTimeoutError } from '../src/internal.js';
import { parseFault, type Fault } from '../mock-qmp/index.js';
import { fixturePath } from './helpers/qemu.js';
import { readTrace, serveTrace } from './helpers/replay.js';
import { connect as connectQmp } from '../src/connect.js';

const trace = readTrace(fixturePath('active-commit-pivot.jsonl'));

async function connect(t: Test, faults: Fault[], options: { maxMessageBytes?: number; negotiate?: boolean } = {}): Promise<QmpClient> {
  const server = await serveTrace(t, { trace, instant: true, faults });
  const client = await connectQmp({ path: server.path! }, { connectTimeoutMs: 5000, ...options });
  t.teardown(() => client.close());
  return client;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('unexpected success'),
    (e: unknown) => e,
  );
}

t.test('close-after=N: the pending command fails with ConnectionClosedError', async (t) => {
  const client = await connect(t, [parseFault('close-after=2')]); // greeting + qmp_capabilities reply
  const error = await failure(client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job' }, { timeoutMs: 5000 }));
  t.ok(error instanceof ConnectionClosedError, `expected ConnectionClosedError, got ${String(error)}`);
});

t.test('close-at-event: a waiter for that event gets ConnectionClosedError', async (t) => {
  const client = await connect(t, [parseFault('close-at-event=BLOCK_JOB_READY')]);
  const since = client.eventCursor();
  await client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job' });
  const error = await failure(client.waitForEvent('BLOCK_JOB_READY', undefined, { since, timeoutMs: 5000 }));
  t.ok(error instanceof ConnectionClosedError, `expected ConnectionClosedError, got ${String(error)}`);
  t.notOk(
    client.recentEvents(since).some((e) => e.event === 'BLOCK_JOB_READY'),
    'READY itself should never arrive',
  );
});

t.test('delay-reply: a short command timeout gives QmpTimeoutError', async (t) => {
  const client = await connect(t, [parseFault('delay-reply=block-commit:2000')]);
  const error = await failure(client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job' }, { timeoutMs: 100 }));
  t.ok(error instanceof QmpTimeoutError, `expected QmpTimeoutError, got ${String(error)}`);
});

t.test('drop-event: waiting for the dropped event times out', async (t) => {
  const client = await connect(t, [parseFault('drop-event=BLOCK_JOB_READY')]);
  const since = client.eventCursor();
  await client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job' });
  await client.waitForEvent('JOB_STATUS_CHANGE', { status: 'ready' }, { since, timeoutMs: 5000 });
  const error = await failure(client.waitForEvent('BLOCK_JOB_READY', undefined, { since, timeoutMs: 200 }));
  t.ok(error instanceof QmpTimeoutError, `expected QmpTimeoutError, got ${String(error)}`);
});

t.test('duplicate-event: the event arrives twice', async (t) => {
  const client = await connect(t, [parseFault('duplicate-event=BLOCK_JOB_READY')]);
  const since = client.eventCursor();
  await client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job' });
  await client.execute('query-block-jobs');
  const readies = client.recentEvents(since).filter((e) => e.event === 'BLOCK_JOB_READY');
  t.equal(readies.length, 2, 'BLOCK_JOB_READY should have been sent twice');
});

t.test('malformed: the client drops the connection with a ProtocolError cause', async (t) => {
  const client = await connect(t, [parseFault('malformed')]);
  const error = await failure(client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job' }, { timeoutMs: 5000 }));
  t.ok(error instanceof ConnectionClosedError, `expected ConnectionClosedError, got ${String(error)}`);
  t.ok((error as Error).cause instanceof ProtocolError, 'the cause should be the ProtocolError for the bad JSON');
});

t.test('oversized: a message over the client limit ends the connection with a ProtocolError cause', async (t) => {
  const client = await connect(t, [parseFault('oversized=200000')], { maxMessageBytes: 64 * 1024 });
  const error = await failure(client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job' }, { timeoutMs: 5000 }));
  t.ok(error instanceof ConnectionClosedError, `expected ConnectionClosedError, got ${String(error)}`);
  t.match(String(((error as Error).cause as Error)?.message), /exceeds the limit/, 'the cause should be the size limit');
});

t.test('byte-by-byte: the whole session still works', async (t) => {
  const client = await connect(t, [parseFault('byte-by-byte')]);
  const since = client.eventCursor();
  await client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job' });
  await client.waitForEvent('BLOCK_JOB_READY', undefined, { since, timeoutMs: 10_000 });
  t.same(
    await client.execute('query-block-jobs', undefined, { timeoutMs: 10_000 }).then((r) => (r as Array<{ device: string }>)[0]?.device),
    'commit-job',
    'replies should arrive intact',
  );
});

t.test('error-reply: the command fails with the given class and text', async (t) => {
  const client = await connect(t, [parseFault('error-reply=block-commit:DeviceNotActive:no: such job')]);
  const error = await failure(client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job' }));
  t.ok(error instanceof QmpCommandError, `expected QmpCommandError, got ${String(error)}`);
  t.equal((error as QmpCommandError).errorClass, 'DeviceNotActive', 'the class should be the injected one');
  t.equal((error as QmpCommandError).desc, 'no: such job', 'the desc should be the injected text, colons and all');
});

t.test('bad fault specs are refused', async (t) => {
  for (const spec of ['close-after=x', 'nonsense', 'delay-reply=cmd', 'error-reply=cmd']) {
    t.throws(() => parseFault(spec), /bad --fault/, `${spec} should be refused`);
  }
});
