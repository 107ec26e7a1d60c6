// QEMU's own Python clients (python/qemu/qmp from QEMU's source, the stack's version: see
// test/helpers/qemu-peers.ts) through `share --listen`, started while `commit --active --pivot`
// holds the monitor: they send commands as compact JSON with no newline. The legacy sync client
// (iotests') runs queries; the asyncio QMPClient sees every event of the job until it completes;
// qmp-shell runs query-block-jobs and a job command (block-job-set-speed) that lets the commit finish.
// The commit then pivots, and base holds the guest's data.
import path from 'node:path';
import t from 'tap';
import { qemuIo } from '../src/internal.js';
import { buildSeedChain, expectedView, readChecks } from './helpers/chain.js';
import { extraMonitorArgs, finished, startCli, waitForLine } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { completed, peersScript, printed, python, qemuPython } from './helpers/qemu-peers.js';

t.test('qmp-shell, QMPClient and the legacy client through share during a commit', async (t) => {
  const py = qemuPython(t);
  if (!py) return;
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const shared = path.join(dir, 'shared.sock');
  const layers = await buildSeedChain(dir);
  const { client, qemu } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  const holder = startCli(['commit', 'drive0', '--active', '--pivot', '--bandwidth', '1', '--bytes', '--json', '--socket', cli]);
  t.teardown(() => holder.kill('SIGKILL'));
  const held = finished(holder, 90_000);
  await waitForLine(holder, (line) => line.includes('"type":"started"'));
  const share = startCli(['share', '--listen', shared, '--socket', cli]);
  t.teardown(() => share.kill('SIGKILL'));
  const shareDone = finished(share, 90_000);
  await waitForLine(share, (line) => line.startsWith('Sharing '));

  // The legacy client, as iotests use it.
  const legacy = await completed(python(py, [peersScript, 'legacy', shared, 'query-status', 'query-block-jobs']));
  t.equal(legacy.code, 0, `the legacy client ran; stderr: ${legacy.stderr}`);
  const [greeting, status, jobs] = printed(legacy.stdout);
  t.match(greeting, { greeting: { QMP: { version: { qemu: client.greeting.QMP.version.qemu } } } }, "it was greeted with the QEMU's version");
  t.match(status, { command: 'query-status', reply: { return: { status: String } } }, `query-status answered; got ${JSON.stringify(status)}`);
  t.match(jobs, { command: 'query-block-jobs', reply: { return: [{ device: 'commit-drive0', type: 'commit', speed: 1 }] } }, 'and it sees the running commit');

  // QMPClient listening for the job's events before anything moves it.
  const watcher = python(py, [peersScript, 'events', shared, 'commit-drive0']);
  const watched = completed(watcher, 90_000);
  await waitForLine(watcher, (line) => line.includes('"ready"'));

  // qmp-shell: a query and a job command; speed 0 lets the commit run to READY, and the holder pivots.
  const shell = await completed(python(py, ['-m', 'qemu.qmp.qmp_shell', shared], 'query-block-jobs\nblock-job-set-speed device=commit-drive0 speed=0\n'));
  t.equal(shell.code, 0, `qmp-shell ran; stderr: ${shell.stderr}`);
  const answers = printed(shell.stdout);
  t.match(answers, [{ return: [{ device: 'commit-drive0', speed: 1 }] }, { return: {} }], `qmp-shell got both answers; stdout: ${shell.stdout}`);

  const events = await watched;
  t.equal(events.code, 0, `QMPClient saw the job to its end; stderr: ${events.stderr}`);
  const seen = printed(events.stdout).filter((l) => 'event' in l);
  const statuses = seen.filter((e) => e.event === 'JOB_STATUS_CHANGE').map((e) => (e.data as { status: string }).status);
  t.same(
    statuses,
    ['ready', 'waiting', 'pending'],
    `every status change of the job from READY on, in order; events: ${JSON.stringify(seen.map((e) => e.event))}`,
  );
  t.ok(
    seen.some((e) => e.event === 'BLOCK_JOB_READY'),
    'and BLOCK_JOB_READY',
  );
  const last = seen.at(-1);
  t.match(last, { event: 'BLOCK_JOB_COMPLETED', data: { device: 'commit-drive0' } }, 'ending with BLOCK_JOB_COMPLETED');
  const { offset, len } = (last?.data ?? {}) as { offset?: number; len?: number };
  t.equal(offset, len, 'the whole disk was committed');

  const first = await held;
  t.equal(first.code, 0, `the commit pivoted; stderr: ${first.stderr}`);
  share.kill('SIGTERM');
  await shareDone;
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  await t.resolves(qemuIo(layers[0]!.file, readChecks(expectedView(layers)), { format: layers[0]!.format }), "base holds the guest's data");
});
