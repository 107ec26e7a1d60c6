// QmpClient over a transport with no QEMU behind it: replies find their command by id in any order,
// a reply to an id nobody sent is a warning (and dropped), an error without an id drops the
// connection, and a closed transport rejects everything pending with ConnectionClosedError.
import t from 'tap';
import { QmpClient, ConnectionClosedError, QmpCommandError, type QmpError } from '../../src/internal.js';
import { FakeTransport, GREETING, negotiatingTransport } from './helpers/fake-transport.js';

t.test('replies in reverse order reach their own commands', async (t) => {
  const held: Array<Record<string, unknown>> = [];
  const transport = negotiatingTransport((command) => {
    held.push(command);
    if (held.length === 3) for (const c of [...held].reverse()) transport.send({ return: { echo: c.execute }, id: c.id });
  });
  const client = await QmpClient.open(transport);
  const results = await Promise.all(['query-status', 'query-version', 'query-block'].map((name) => client.execute(name as 'query-status')));
  t.same(results, [{ echo: 'query-status' }, { echo: 'query-version' }, { echo: 'query-block' }], 'each command got its own reply');
  await client.close();
});

t.test('a reply with an unknown id is a warning, and the stream goes on', async (t) => {
  const transport = negotiatingTransport((command) => {
    transport.send({ return: {}, id: 987654 });
    transport.send({ return: { ok: true }, id: command.id });
  });
  const client = await QmpClient.open(transport);
  const warnings: QmpError[] = [];
  client.on('warning', (w) => warnings.push(w));
  t.same(await client.execute('query-status'), { ok: true }, 'the real reply still arrives');
  t.equal(warnings.length, 1, 'one warning for the stray reply');
  await client.close();
});

t.test('an error reply is a QmpCommandError with class, desc and the command', async (t) => {
  const transport = negotiatingTransport((command) => transport.send({ error: { class: 'GenericError', desc: 'Job not found' }, id: command.id }));
  const client = await QmpClient.open(transport);
  // job-complete, as the jobs send it (block-job-complete is deprecated since QEMU 10.1): QEMU's own reply to an unknown id.
  const error = await client.execute('job-complete', { id: 'x' }).catch((e: unknown) => e);
  t.ok(error instanceof QmpCommandError, 'typed');
  t.same(
    [(error as QmpCommandError).errorClass, (error as QmpCommandError).desc, (error as QmpCommandError).command],
    ['GenericError', 'Job not found', 'job-complete'],
    'its fields',
  );
  await client.close();
});

t.test('an error without an id means QEMU could not parse us: the connection is dropped', async (t) => {
  const transport = negotiatingTransport(() => transport.send({ error: { class: 'GenericError', desc: 'JSON parse error' } }));
  const client = await QmpClient.open(transport);
  const closed = new Promise<Error | undefined>((resolve) => client.once('close', resolve));
  const error = await client.execute('query-status').catch((e: unknown) => e);
  t.ok(error instanceof ConnectionClosedError, `pending command rejected with ConnectionClosedError, got ${String(error)}`);
  t.ok((await closed) instanceof Error, 'close carries the reason');
  t.ok(transport.closed, 'the transport was torn down');
});

t.test('a transport that closes rejects every pending command, once', async (t) => {
  const transport = negotiatingTransport(() => {});
  const client = await QmpClient.open(transport);
  let closes = 0;
  client.on('close', () => {
    closes++;
  });
  const pending = Array.from({ length: 5 }, () => client.execute('query-status').catch((e: unknown) => e));
  transport.destroy(new Error('peer gone'));
  const errors = await Promise.all(pending);
  t.ok(
    errors.every((e) => e instanceof ConnectionClosedError),
    'all five rejected with ConnectionClosedError',
  );
  t.equal(closes, 1, 'close emitted once');
  await client.close();
  t.equal(closes, 1, 'and not again on close()');
});

t.test('events before the greeting are kept, not an error', async (t) => {
  const transport = new FakeTransport();
  transport.onCommand = (c) => c.execute === 'qmp_capabilities' && transport.send({ return: {}, id: c.id });
  transport.send({ event: 'RESUME', data: {}, timestamp: { seconds: 1, microseconds: 0 } });
  transport.send(GREETING);
  const client = await QmpClient.open(transport);
  t.same(
    client.recentEvents().map((e) => e.event),
    ['RESUME'],
    'the early event is in the history',
  );
  await client.close();
});
