// Faults injected into a real QEMU conversation: each gives a typed error or a warning, never a hang.
import t, { type Test } from 'tap';
import { AbortedError, ConnectError, ConnectionClosedError, ProtocolError, QmpTimeoutError, type QmpClientOptions, type QmpError } from '../src/internal.js';
import { QemuProcess } from '../src/transport/qemu-process.js';
import { startFaultProxy, type FaultProxyOptions } from './helpers/fault-proxy.js';
import { tempDir } from './helpers/qemu.js';
import { connect } from '../src/connect.js';

async function throughProxy(t: Test, faults: FaultProxyOptions, clientOptions: QmpClientOptions = {}) {
  const dir = tempDir(t);
  const qemu = await QemuProcess.start({ dir });
  t.teardown(async () => {
    qemu.kill();
    await qemu.exited;
  });
  // Make sure QEMU listens before the proxy dials it (a first client, closed at once).
  await (await qemu.failIfExits(connect({ path: qemu.socketPath }))).close();
  const proxy = await startFaultProxy(dir, qemu.socketPath, faults);
  t.teardown(() => proxy.close());
  const connecting = connect({ path: proxy.path }, { connectTimeoutMs: 10_000, ...clientOptions });
  return { qemu, connecting };
}

const isGreeting = (line: string): boolean => 'QMP' in (JSON.parse(line) as object);
const commandName = (line: string): unknown => (JSON.parse(line) as { execute?: unknown }).execute;

t.test('events that arrive before the greeting are kept, not fatal', async (t) => {
  const early = `${JSON.stringify({ event: 'STOP', timestamp: { seconds: 1, microseconds: 2 } })}\r\n`;
  const { connecting } = await throughProxy(t, { fromQemu: (line) => (isGreeting(line) ? [early, line] : [line]) });
  const client = await connecting;
  t.teardown(() => client.close());
  t.same(
    client.recentEvents().map((e) => e.event),
    ['STOP'],
    'the early event should be in the history',
  );
  t.type((await client.execute('query-version')).qemu.major, 'number', 'the client should work normally');
});

t.test('a reply with an unknown id is reported and dropped', async (t) => {
  const { connecting } = await throughProxy(t, {
    fromQemu: (line) => {
      const message = JSON.parse(line) as { id?: unknown };
      return message.id !== undefined ? [`${JSON.stringify({ ...message, id: 'stranger' })}\r\n`, line] : [line];
    },
  });
  const client = await connecting;
  t.teardown(() => client.close());
  const warnings: QmpError[] = [];
  client.on('warning', (w) => warnings.push(w));
  await client.execute('query-status');
  t.equal(warnings.length, 1, 'exactly one warning should be reported');
  t.match(warnings[0]?.message, /unknown id "stranger"/, 'the warning should name the id');
});

t.test('a command that is never answered times out, and the connection stays usable', async (t) => {
  const { connecting } = await throughProxy(t, { toQemu: (line) => (commandName(line) === 'query-status' ? [] : [line]) });
  const client = await connecting;
  t.teardown(() => client.close());
  const error = await client.execute('query-status', undefined, { timeoutMs: 100 }).catch((e: unknown) => e);
  t.ok(error instanceof QmpTimeoutError, `should be QmpTimeoutError, got ${String(error)}`);
  t.equal(client.pendingCount, 0, 'the timed-out command should no longer be pending');
  t.type((await client.execute('query-version')).qemu.major, 'number', 'later commands should still work');
});

t.test('an AbortSignal cancels the wait for a reply', async (t) => {
  const { connecting } = await throughProxy(t, { toQemu: (line) => (commandName(line) === 'query-status' ? [] : [line]) });
  const client = await connecting;
  t.teardown(() => client.close());
  const controller = new AbortController();
  const pending = client.execute('query-status', undefined, { signal: controller.signal }).catch((e: unknown) => e);
  controller.abort(new Error('user gave up'));
  const error = await pending;
  t.ok(error instanceof AbortedError, `should be AbortedError, got ${String(error)}`);
  t.equal(
    (error as AbortedError).cause instanceof Error && ((error as AbortedError).cause as Error).message,
    'user gave up',
    'the abort reason should be the cause',
  );
});

t.test('a late reply to a timed-out command is dropped quietly', async (t) => {
  const { connecting, qemu } = await throughProxy(t, {});
  const client = await connecting;
  t.teardown(() => client.close());
  const warnings: QmpError[] = [];
  client.on('warning', (w) => warnings.push(w));
  process.kill(qemu.pid, 'SIGSTOP');
  const error = await client.execute('query-status', undefined, { timeoutMs: 50 }).catch((e: unknown) => e);
  process.kill(qemu.pid, 'SIGCONT');
  t.ok(error instanceof QmpTimeoutError, 'the command should time out while QEMU is stopped');
  await client.execute('query-version'); // the late reply arrives before this one's
  t.equal(warnings.length, 0, 'the late reply should not be reported as unknown');
});

t.test('malformed JSON from the peer closes the connection with a ProtocolError', async (t) => {
  const { connecting } = await throughProxy(t, {
    fromQemu: (line) => ((JSON.parse(line) as { return?: { running?: unknown } }).return?.running !== undefined ? ['{"return": {"runn\r\n'] : [line]),
  });
  const client = await connecting;
  let closeError: Error | undefined;
  client.on('close', (e) => {
    closeError = e;
  });
  const error = await client.execute('query-status').catch((e: unknown) => e);
  t.ok(error instanceof ConnectionClosedError, `pending command should fail with ConnectionClosedError, got ${String(error)}`);
  t.ok((error as Error).cause instanceof ProtocolError, 'its cause should be the ProtocolError');
  t.ok(closeError instanceof ProtocolError, 'close should carry the ProtocolError');
});

t.test('a reply over maxMessageBytes is refused, not buffered', async (t) => {
  const { connecting } = await throughProxy(t, {}, { maxMessageBytes: 2048 });
  const client = await connecting;
  const error = await client.executeUntyped('query-qmp-schema').catch((e: unknown) => e);
  t.ok(error instanceof ConnectionClosedError, 'the command should fail');
  t.match(((error as Error).cause as Error | undefined)?.message, /exceeds the limit of 2048 bytes/, 'the cause should say the limit was exceeded');
});

t.test('no greeting within the connect timeout is a ConnectError', async (t) => {
  const { connecting } = await throughProxy(t, { fromQemu: (line) => (isGreeting(line) ? [] : [line]) }, { connectTimeoutMs: 300 });
  const started = Date.now();
  const error = await connecting.catch((e: unknown) => e);
  t.ok(error instanceof ConnectError, `should be ConnectError, got ${String(error)}`);
  t.match((error as Error).message, /greeting/, 'message should say the greeting did not come');
  t.ok(Date.now() - started < 3000, 'should not wait much longer than the timeout');
});
