// QEMU stuck after negotiation (SIGSTOP, as on hung storage): every CLI command fails within
// --command-timeout with a typed error instead of waiting forever, and a commit waiting for READY
// says the monitor went silent. The job is left as it was: once QEMU runs again it is still there.
import t from 'tap';
import { resolveDisk } from '../src/internal.js';
import { startFaultProxy, freezeQemuAfter } from './helpers/fault-proxy.js';
import { buildSeedChain } from './helpers/chain.js';
import { runCli } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { connect } from '../src/connect.js';

const isReply = (line: string): boolean => 'return' in (JSON.parse(line) as object);

t.test('read-only commands time out after --command-timeout when QEMU freezes after qmp_capabilities', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { qemu, client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`] });
  await client.close();
  let connection = 0;
  const freeze = freezeQemuAfter(qemu.pid, (line, n) => n === connection && isReply(line));
  t.teardown(() => freeze.thaw());
  const proxy = await startFaultProxy(dir, qemu.socketPath, freeze);
  t.teardown(() => proxy.close());
  const commands: Array<[string, string[], RegExp]> = [
    ['jobs', ['jobs'], /query-(block-)?jobs on unix:.* timed out after 1000 ms/],
    ['chain', ['chain', 'drive0'], /timed out after 1000 ms/],
    ['blocks', ['blocks'], /timed out after 1000 ms/],
    ['qmp', ['qmp', 'query-status'], /query-status on unix:.* timed out after 1000 ms/],
    ['snapshot', ['snapshot', 'drive0', '--file', `${dir}/sn.qcow2`], /timed out after 1000 ms/],
    ['job --info', ['job', 'drive0', '--info'], /query-block-jobs on unix:.* timed out after 1000 ms/],
    ['job --abort', ['job', 'drive0', '--abort'], /timed out after 1000 ms/],
    ['job --bandwidth', ['job', 'drive0', '--bandwidth', '10'], /timed out after 1000 ms/],
  ];
  for (const [name, args, expected] of commands) {
    connection += 1;
    const started = Date.now();
    const result = await runCli([...args, '--command-timeout', '1', '--socket', proxy.path], 30_000);
    const took = Date.now() - started;
    t.ok(freeze.frozen(), `${name}: QEMU should have been frozen after negotiation`);
    freeze.thaw();
    t.equal(result.code, 1, `${name}: a command QEMU never answers should exit 1; stderr: ${result.stderr}`);
    t.match(result.stderr, expected, `${name}: the error should say what timed out`);
    t.notMatch(result.stderr, /\n\s+at /, `${name}: no stack trace`);
    t.ok(took < 10_000, `${name}: should fail soon after the 1 s timeout, took ${took} ms`);
  }
});

t.test('commit waiting for READY fails with "monitor has not answered" when QEMU freezes after block-commit', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const files = layers.map((l) => l.file);
  const { qemu, client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${files[3]},format=qcow2`] });
  await client.close();
  let commitId: unknown;
  const freeze = freezeQemuAfter(qemu.pid, (line) => commitId !== undefined && (JSON.parse(line) as { id?: unknown }).id === commitId);
  t.teardown(() => freeze.thaw());
  const proxy = await startFaultProxy(dir, qemu.socketPath, {
    ...freeze,
    toQemu: (line) => {
      const command = JSON.parse(line) as { execute?: string; id?: unknown };
      if (command.execute === 'block-commit') commitId = command.id;
      return [line];
    },
  });
  t.teardown(() => proxy.close());
  const result = await runCli(
    ['commit', 'drive0', '--active', '--pivot', '--bandwidth', '65536', '--bytes', '--json', '--command-timeout', '1', '--socket', proxy.path],
    30_000,
  );
  t.ok(freeze.frozen(), 'QEMU should have been frozen after answering block-commit');
  freeze.thaw();
  t.equal(result.code, 1, `exit 1; stderr: ${result.stderr}`);
  const lines = result.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; event?: string; data?: { status?: string } });
  t.same(
    lines.map((l) => (l.type === 'event' ? `${l.event}:${l.data?.status}` : l.type)),
    ['JOB_STATUS_CHANGE:created', 'JOB_STATUS_CHANGE:running', 'started'],
    'the job started and nothing more came before the freeze',
  );
  t.match(result.stderr, /^error: QEMU's monitor has not answered for 1 s \(unix:.*proxy\.sock\)/m, 'the error should say the monitor went silent');
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
  // QEMU runs again: the job is still there, untouched, and can be aborted.
  const after = await connect({ path: qemu.socketPath }, { connectTimeoutMs: 10_000 });
  t.teardown(() => after.close());
  const jobs = await after.execute('query-block-jobs');
  t.same(
    jobs.map((j) => j.device),
    ['commit-drive0'],
    'the job should still be there after the freeze',
  );
  const cursor = after.eventCursor();
  await after.execute('block-job-cancel', { device: 'commit-drive0', force: true });
  await after.waitForEvent('JOB_STATUS_CHANGE', { id: 'commit-drive0', status: 'null' }, { since: cursor, timeoutMs: 10_000 });
  const disk = await resolveDisk(after, 'drive0');
  t.same(
    disk.layers.map((l) => l.file),
    files,
    'the guest should still run on the whole chain',
  );
});

t.test('commit --async --timeout whose cancel QEMU never answers returns within --command-timeout', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { qemu, client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`] });
  await client.close();
  let frozen = false;
  t.teardown(() => frozen && process.kill(qemu.pid, 'SIGCONT'));
  const proxy = await startFaultProxy(dir, qemu.socketPath, {
    toQemu: (line) => {
      if (!frozen && (JSON.parse(line) as { execute?: string }).execute === 'block-job-cancel') {
        frozen = true;
        process.kill(qemu.pid, 'SIGSTOP'); // QEMU freezes just as the cancel arrives
      }
      return [line];
    },
  });
  t.teardown(() => proxy.close());
  const started = Date.now();
  const result = await runCli(
    [
      'commit',
      'drive0',
      '--active',
      '--pivot',
      '--bandwidth',
      '65536',
      '--bytes',
      '--timeout',
      '0.5',
      '--async',
      '--command-timeout',
      '1',
      '--socket',
      proxy.path,
    ],
    30_000,
  );
  t.ok(frozen, 'QEMU should have been frozen when the cancel was sent');
  t.equal(result.signal, null, 'the command should end by itself');
  t.equal(result.code, 1, `an abandoned commit exits 1; stderr: ${result.stderr}`);
  t.match(result.stdout, /^Commit abort requested \(timeout of 0\.5 s reached\)$/m, 'the abort was requested');
  t.ok(Date.now() - started < 10_000, 'the unanswered cancel should give up after --command-timeout, not wait forever');
});
