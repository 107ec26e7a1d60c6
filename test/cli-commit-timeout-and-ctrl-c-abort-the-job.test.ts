// --timeout and SIGINT abort a bandwidth-limited commit, as in virsh: "Commit aborted", exit 1, and the
// guest stays on top with its content unchanged.
import path from 'node:path';
import t, { type Test as Tap } from 'tap';
import { resolveDisk, qemuIo } from '../src/internal.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { buildSeedChain, expectedView, readChecks } from './helpers/chain.js';
import { extraMonitorArgs, finished, jsonLines, runCli, startCli, waitForLine } from './helpers/cli.js';

async function slowGuest(t: Tap, name: string) {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const files = layers.map((l) => l.file);
  const started = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${files[3]},format=qcow2`, ...extraMonitorArgs(cli)] });
  t.comment(`${name}: QEMU ${started.qemu.pid}`);
  return { ...started, cli, layers, files };
}

async function expectUntouched(t: Tap, g: Awaited<ReturnType<typeof slowGuest>>): Promise<void> {
  const disk = await resolveDisk(g.client, 'drive0');
  t.same(
    disk.layers.map((l) => l.file),
    g.files,
    'the guest should still run on the whole chain',
  );
  const jobs = await g.client.execute('query-block-jobs');
  t.same(jobs, [], 'no job should be left behind');
  await g.client.execute('quit').catch(() => undefined);
  await g.qemu.exited;
  await t.resolves(qemuIo(g.files[3]!, readChecks(expectedView(g.layers))), 'the guest view should be unchanged');
}

t.test('--timeout aborts the job when it expires', async (t) => {
  const g = await slowGuest(t, 'timeout');
  const started = Date.now();
  const result = await runCli(['commit', 'drive0', '--active', '--pivot', '--bandwidth', '65536', '--bytes', '--timeout', '1', '--socket', g.cli]);
  t.equal(result.code, 1, 'an aborted commit should exit 1');
  t.match(result.stdout, /^Commit aborted$/m, "virsh's words for an abort");
  t.ok(Date.now() - started < 20_000, 'the abort should come soon after the timeout');
  await expectUntouched(t, g);
});

t.test('SIGINT while waiting aborts the job', async (t) => {
  const g = await slowGuest(t, 'sigint');
  const child = startCli(['commit', 'drive0', '--active', '--pivot', '--bandwidth', '65536', '--bytes', '--json', '--socket', g.cli]);
  t.teardown(() => child.kill('SIGKILL'));
  const done = finished(child);
  await waitForLine(child, (line) => line.includes('"type":"started"'));
  child.kill('SIGINT');
  const result = await done;
  t.equal(result.code, 1, `an aborted commit should exit 1; stderr: ${result.stderr}`);
  const lines = jsonLines(result.stdout);
  t.ok(
    lines.some((l) => l.type === 'message' && l.message === 'Commit aborted'),
    'the abort should be reported',
  );
  const final = lines.find((l) => l.type === 'result');
  t.equal(final?.outcome, 'aborted', 'the result should say aborted');
  t.match((final?.states as string[] | undefined)?.slice(-3), ['aborting', 'concluded', 'null'], 'the job should have gone through aborting to null');
  await expectUntouched(t, g);
});
