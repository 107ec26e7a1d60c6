// Event delivery: the iterator listens from creation, `since` replays what came before, waits are bounded.
import t from 'tap';
import { ConnectionClosedError, QmpTimeoutError, type QmpEvent } from '../src/internal.js';
import { startQemu } from './helpers/qemu.js';

t.test('an iterator created before a command sees the events it caused, in order', async (t) => {
  const { client } = await startQemu(t);
  const stream = client.events({ names: ['STOP', 'RESUME'] });
  await client.execute('stop');
  await client.execute('cont');
  await client.execute('stop');
  const seen: string[] = [];
  for await (const event of stream) {
    seen.push(event.event);
    if (seen.length === 3) break;
  }
  t.same(seen, ['STOP', 'RESUME', 'STOP'], 'the stream should hold every event in order');
});

t.test('since replays events that arrived before the wait began', async (t) => {
  const { client } = await startQemu(t);
  const cursor = client.eventCursor();
  await client.execute('stop');
  await client.execute('cont');
  const resumed = await client.waitForEvent('RESUME', undefined, { since: cursor, timeoutMs: 1000 });
  t.equal(resumed.event, 'RESUME', 'RESUME from before the wait should be found');
  const late = await client.waitForEvent('RESUME', undefined, { timeoutMs: 100 }).catch((e: unknown) => e);
  t.ok(late instanceof QmpTimeoutError, 'without since, an old event should not count, and the wait should time out');
});

t.test('a match pattern selects the event by its data', async (t) => {
  const { client } = await startQemu(t);
  const waiting = client.waitForEvent('SHUTDOWN', { reason: 'host-qmp-quit' }, { timeoutMs: 5000 });
  await client.execute('quit').catch(() => undefined);
  const event: QmpEvent = await waiting;
  t.equal(event.data.reason, 'host-qmp-quit', 'the matched event should carry the requested data');
});

t.test('an iterator fails with ConnectionClosedError when QEMU dies', async (t) => {
  const { client, qemu } = await startQemu(t);
  const stream = client.events();
  qemu.kill('SIGKILL');
  const error = await stream.next().catch((e: unknown) => e);
  t.ok(error instanceof ConnectionClosedError, `should be ConnectionClosedError, got ${String(error)}`);
});
