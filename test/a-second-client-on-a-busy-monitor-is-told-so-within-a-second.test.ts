// QEMU serves one client per monitor and greets the next only when the first leaves. connect() with
// its defaults says so with MonitorBusyError within about a second (it once waited 10 s for a generic
// greeting timeout); a caller that gives connectTimeoutMs waits that long, and is greeted once the
// first client leaves.
import t from 'tap';
import { connect, MonitorBusyError } from '../src/index.js';
import { DEFAULT_GREETING_TIMEOUT_MS } from '../src/connect.js';
import { startQemu } from './helpers/qemu.js';

t.test('a second client on a held monitor gets MonitorBusyError at once', async (t) => {
  const { qemu, client } = await startQemu(t);
  await client.execute('query-status');
  const started = performance.now();
  const error = await connect({ path: qemu.socketPath }).then(
    (c) => c.close().then(() => undefined),
    (e: unknown) => e,
  );
  const waited = performance.now() - started;
  t.ok(error instanceof MonitorBusyError, `the second client should get MonitorBusyError, got ${String(error)}`);
  t.equal((error as MonitorBusyError).waitedMs, DEFAULT_GREETING_TIMEOUT_MS, 'it says how long it waited for the greeting');
  t.ok(waited < DEFAULT_GREETING_TIMEOUT_MS + 2000, `within about a second (${Math.round(waited)} ms)`);
  t.ok((await client.execute('query-status')).status, 'the first client is untouched');

  // A patient caller (connectTimeoutMs given) is greeted once the first client leaves.
  const patient = connect({ path: qemu.socketPath }, { connectTimeoutMs: 20_000 });
  await client.close();
  const second = await patient;
  t.teardown(() => second.close());
  t.ok((await second.execute('query-status')).status, 'the patient client is greeted once the monitor is free');
});
