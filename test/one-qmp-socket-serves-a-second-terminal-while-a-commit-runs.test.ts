// QEMU's monitor serves one client. While `commit --wait` holds it, other qmp-blockjob commands on
// the same --socket go through the holder's connection (its private share), with no new flag:
// `jobs` answers at once, `chain` and `job --bandwidth` work, and `job --abort` from the second
// terminal ends the first terminal's commit, which says "Commit aborted" and exits non-zero.
import path from 'node:path';
import t from 'tap';
import { qemuIo } from '../src/internal.js';
import { buildSeedChain, expectedView, readChecks } from './helpers/chain.js';
import { extraMonitorArgs, finished, jsonLines, runCli, startCli, waitForLine } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('a second terminal while commit --wait holds the socket', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const { client, qemu } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  const holder = startCli(['commit', 'drive0', '--active', '--pivot', '--bandwidth', '1', '--bytes', '--json', '--socket', cli]);
  t.teardown(() => holder.kill('SIGKILL'));
  const held = finished(holder, 60_000);
  await waitForLine(holder, (line) => line.includes('"type":"started"'));

  const started = Date.now();
  const jobs = await runCli(['jobs', '--json', '--socket', cli], 20_000);
  const took = Date.now() - started;
  t.equal(jobs.code, 0, `jobs answers through the holder's connection; stderr: ${jobs.stderr}`);
  t.match(jsonLines(jobs.stdout), [{ type: 'job', id: 'commit-drive0', status: 'running' }], 'it sees the running commit');
  t.ok(took < 3000, `within 3 s (took ${took} ms), not after a connect timeout`);
  const chain = await runCli(['chain', 'drive0', '--socket', cli]);
  t.match(chain.stdout, /drive0\[4\].*c\.qcow2.*\(active\)/, `chain works too; stderr: ${chain.stderr}`);
  const speed = await runCli(['job', 'drive0', '--bandwidth', '2', '--bytes', '--socket', cli]);
  t.equal(speed.code, 0, `job --bandwidth works; stderr: ${speed.stderr}`);
  t.equal((await client.execute('query-block-jobs'))[0]?.speed, 2, 'and acts on the same job');
  const abort = await runCli(['job', 'drive0', '--abort', '--socket', cli]);
  t.equal(abort.code, 0, `job --abort from the second terminal; stderr: ${abort.stderr}`);

  const first = await held;
  t.equal(first.code, 1, "the first terminal's commit exits non-zero");
  t.ok(
    jsonLines(first.stdout).some((l) => l.type === 'message' && l.message === 'Commit aborted'),
    `it says "Commit aborted"; stdout: ${first.stdout}`,
  );
  t.match(first.stderr, /cancelled by someone else/, 'and that someone else did it');
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  await t.resolves(qemuIo(layers[3]!.file, readChecks(expectedView(layers)), { format: 'qcow2' }), 'the guest view is unchanged');
});

t.test('a monitor held by another client (not ours) is said at once', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  await startQemu(t, { dir, args: extraMonitorArgs(cli) });
  // Some other tool holds the monitor (QEMU greets it; the next client waits, ungreeted).
  const { connect } = await import('../src/connect.js');
  const other = await connect({ path: cli });
  t.teardown(() => other.close());
  const started = Date.now();
  const result = await runCli(['jobs', '--socket', cli], 20_000);
  t.equal(result.code, 1, 'refused');
  t.match(result.stderr, /the QMP monitor is in use by another client .*qmp-blockjob share/, `one line that says why and what to do; stderr: ${result.stderr}`);
  t.ok(Date.now() - started < 3000, 'within about a second, not after the 10 s connect timeout');
});
