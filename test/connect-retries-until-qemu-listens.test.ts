// Connecting while QEMU is still starting retries; nobody listening ends in ConnectError, bounded.
import path from 'node:path';
import t from 'tap';
import { ConnectError, AbortedError } from '../src/internal.js';
import { QemuProcess } from '../src/transport/qemu-process.js';
import { tempDir } from './helpers/qemu.js';
import { connect } from '../src/connect.js';

t.test('connect started before QEMU exists succeeds once QEMU listens', async (t) => {
  const dir = tempDir(t);
  const socketPath = path.join(dir, 'qmp.sock');
  const connecting = connect({ path: socketPath }, { connectTimeoutMs: 20_000 });
  const qemu = await QemuProcess.start({ dir });
  t.teardown(async () => {
    qemu.kill();
    await qemu.exited;
  });
  const client = await qemu.failIfExits(connecting);
  t.teardown(() => client.close());
  t.type((await client.execute('query-version')).qemu.major, 'number', 'client should work after retrying');
});

t.test('nobody listening: ConnectError after the timeout, naming the socket', async (t) => {
  const dir = tempDir(t);
  const started = Date.now();
  const error = await connect({ path: path.join(dir, 'absent.sock') }, { connectTimeoutMs: 300 }).catch((e: unknown) => e);
  t.ok(error instanceof ConnectError, `should be ConnectError, got ${String(error)}`);
  t.match((error as Error).message, /absent\.sock/, 'message should name the socket');
  t.ok(Date.now() - started < 3000, 'should give up near the timeout');
});

t.test('an AbortSignal stops the retrying at once', async (t) => {
  const dir = tempDir(t);
  const controller = new AbortController();
  const connecting = connect({ path: path.join(dir, 'absent.sock') }, { connectTimeoutMs: 60_000, signal: controller.signal });
  setImmediate(() => controller.abort());
  const error = await connecting.catch((e: unknown) => e);
  t.ok(error instanceof AbortedError, `should be AbortedError, got ${String(error)}`);
});

t.test('QEMU that refuses its arguments gives its own message, not a timeout', async (t) => {
  const dir = tempDir(t);
  const qemu = await QemuProcess.start({ dir, args: ['-blockdev', '{"driver":"nonsense"}'] });
  // failIfExits answers once QEMU is gone; the connect it raced would retry for its whole 20 s
  // (keeping this file alive) unless stopped.
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  const error = await qemu.failIfExits(connect({ path: qemu.socketPath }, { connectTimeoutMs: 20_000, signal: stop.signal })).catch((e: unknown) => e);
  t.ok(error instanceof ConnectError, 'should be ConnectError');
  t.match((error as Error).message, /nonsense/, "message should carry QEMU's complaint");
});
