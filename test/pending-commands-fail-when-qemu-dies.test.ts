// QEMU killed while commands are in flight: every pending command is rejected promptly, close fires once.
import t from 'tap';
import { ConnectionClosedError, ConnectionState } from '../src/internal.js';
import { startQemu } from './helpers/qemu.js';

t.test('SIGKILL to QEMU rejects all pending commands with ConnectionClosedError', async (t) => {
  const { client, qemu } = await startQemu(t);
  let closes = 0;
  let closeError: Error | undefined;
  client.on('close', (error) => {
    closes++;
    closeError = error;
  });
  // Pause QEMU so the commands are surely still pending when it dies.
  process.kill(qemu.pid, 'SIGSTOP');
  const pending = Array.from({ length: 20 }, () =>
    client.execute('query-status').then(
      () => 'answered',
      (e: unknown) => e,
    ),
  );
  qemu.kill('SIGKILL');
  const started = Date.now();
  const results = await Promise.all(pending);
  t.ok(Date.now() - started < 5000, 'rejections should be prompt, not a timeout');
  for (const result of results) {
    t.ok(result instanceof ConnectionClosedError, `pending command should fail with ConnectionClosedError, got ${String(result)}`);
  }
  t.equal(closes, 1, 'close should be emitted exactly once');
  t.ok(closeError, 'close should carry an error when QEMU went away by itself');
  t.equal(client.state, ConnectionState.Closed, 'client should end in state closed');
  const after = await client.execute('query-status').catch((e: unknown) => e);
  t.ok(after instanceof ConnectionClosedError, 'commands after the loss should fail at once with ConnectionClosedError');
  const waited = await client.waitForEvent('STOP', undefined, { timeoutMs: 5000 }).catch((e: unknown) => e);
  t.ok(waited instanceof ConnectionClosedError, 'waiting for an event on a dead connection should fail at once');
});

t.test('a user close() emits close without an error and rejects pending commands', async (t) => {
  const { client, qemu } = await startQemu(t);
  let closeArg: unknown = 'not emitted';
  client.on('close', (error) => {
    closeArg = error;
  });
  process.kill(qemu.pid, 'SIGSTOP');
  t.teardown(() => {
    try {
      process.kill(qemu.pid, 'SIGCONT');
    } catch {
      /* gone */
    }
  });
  const pending = client.execute('query-status').catch((e: unknown) => e);
  await client.close();
  t.ok((await pending) instanceof ConnectionClosedError, 'the pending command should be rejected');
  t.equal(closeArg, undefined, 'close should carry no error when we closed');
});
