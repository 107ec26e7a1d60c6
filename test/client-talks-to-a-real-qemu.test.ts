// The client against a real qemu-system-x86_64: greeting, negotiation, typed replies, errors, events.
import t from 'tap';
import { QmpCommandError, ConnectionState, type QmpEvent } from '../src/internal.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { buildSeedChain, blockdevChainArgs } from './helpers/chain.js';

t.test('greets, negotiates and answers typed queries', async (t) => {
  const { client } = await startQemu(t);
  t.equal(client.state, ConnectionState.Running, 'client should be running after connect');
  t.type(client.greeting.QMP.version.qemu.major, 'number', 'greeting should carry the QEMU version');
  t.ok(Array.isArray(client.greeting.QMP.capabilities), 'greeting should list capabilities');
  const version = await client.execute('query-version');
  t.same(version.qemu, client.greeting.QMP.version.qemu, 'query-version should agree with the greeting');
  const status = await client.execute('query-status');
  t.type(status.running, 'boolean', 'query-status should return a running flag');
});

t.test('a bad command gives QmpCommandError with class, desc, command and arguments', async (t) => {
  const { client } = await startQemu(t);
  // job-complete, not the deprecated block-job-complete: refused alike with and without QEMU's deprecation policy.
  const error = await client.execute('job-complete', { id: 'nope' }).catch((e: unknown) => e);
  t.ok(error instanceof QmpCommandError, 'error should be a QmpCommandError');
  const e = error as QmpCommandError;
  t.equal(e.errorClass, 'GenericError', "error class should be QEMU's");
  t.equal(e.desc, 'Job not found', "desc should be QEMU's text");
  t.equal(e.command, 'job-complete', 'error should name the command');
  t.same(e.args, { id: 'nope' }, 'error should keep the arguments');
  const unknown = await client.executeUntyped('no-such-command').catch((e: unknown) => e);
  t.equal((unknown as QmpCommandError).errorClass, 'CommandNotFound', 'unknown command should be CommandNotFound');
  t.equal(client.state, ConnectionState.Running, 'errors should not disturb the connection');
});

t.test('100 concurrent commands are each answered by their own id', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: blockdevChainArgs(layers) });
  const calls = Array.from({ length: 100 }, (_, i) => {
    switch (i % 4) {
      case 0:
        return client.execute('query-version').then((r) => `version:${r.qemu.major}`);
      case 1:
        return client.execute('query-status').then((r) => `status:${typeof r.running}`);
      case 2:
        return client.execute('query-named-block-nodes').then((r) => `nodes:${r.length}`);
      default:
        return client.execute('block-job-cancel', { device: `job${i}` }).then(
          () => 'unexpected success',
          (e: QmpCommandError) => `error:${e.desc}`,
        );
    }
  });
  t.equal(client.pendingCount, 100, 'all 100 commands should be in flight at once');
  const results = await Promise.all(calls);
  results.forEach((result, i) => {
    const expected = [/^version:\d+$/, /^status:boolean$/, /^nodes:8$/, new RegExp(`^error:Block job 'job${i}' not found$`)][i % 4];
    t.match(result, expected as RegExp, `command ${i} got the reply for another command: ${result}`);
  });
});

t.test('events arrive typed, with timestamp, and waiters see them', async (t) => {
  const { client } = await startQemu(t);
  const seen: QmpEvent[] = [];
  client.on('event', (e) => seen.push(e));
  const cursor = client.eventCursor();
  await client.execute('stop');
  // STOP may already have arrived before the reply: the cursor makes the wait see it anyway.
  const stop = await client.waitForEvent('STOP', undefined, { since: cursor, timeoutMs: 5000 });
  t.equal(stop.event, 'STOP', 'STOP should be seen');
  t.ok(stop.timestamp.seconds > 1_600_000_000, "event should carry QEMU's timestamp");
  const resumed = client.waitForEvent('RESUME', undefined, { timeoutMs: 5000 });
  await client.execute('cont');
  await resumed;
  t.same(
    seen.map((e) => e.event),
    ['STOP', 'RESUME'],
    'listener should see both events in order',
  );
});

t.test('-drive chains with auto node names are visible in query-block', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const top = layers[layers.length - 1]!;
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${top.file},format=qcow2`] });
  const blocks = await client.execute('query-block');
  const drive = blocks.find((b) => b.device === 'drive0');
  t.ok(drive, 'query-block should list drive0');
  t.equal(drive?.inserted?.file, top.file, 'drive0 should have the top image inserted');
  t.match(drive?.inserted?.['node-name'], /^#block\d+$/, 'auto node names should look like #blockNNN');
  t.equal(drive?.inserted?.backing_file_depth, 3, 'the chain below should be three images deep');
});
