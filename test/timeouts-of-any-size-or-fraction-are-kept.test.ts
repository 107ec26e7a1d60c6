// A timeout is honoured whatever its size: fractional seconds (16.1 s is not a whole number of ms),
// below a millisecond, or beyond node's 2^31-1 ms timer limit. None gives node's raw "delay is out of
// range", none fires at once, and a commit with such a --timeout still aborts (or finishes) its job.
import path from 'node:path';
import t, { type Test as Tap } from 'tap';
import { QmpTimeoutError, resolveDisk } from '../src/internal.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { buildSeedChain } from './helpers/chain.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';

async function guest(t: Tap) {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const files = layers.map((l) => l.file);
  const started = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${files[3]},format=qcow2`, ...extraMonitorArgs(cli)] });
  return { ...started, cli, files };
}

t.test('commit --timeout 1.005 (not a whole number of ms) aborts the job after the timeout', async (t) => {
  const g = await guest(t);
  const started = Date.now();
  const result = await runCli([
    'commit',
    'drive0',
    '--active',
    '--pivot',
    '--bandwidth',
    '65536',
    '--bytes',
    '--timeout',
    '1.005',
    '--json',
    '--socket',
    g.cli,
  ]);
  const types = result.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { type: string; message?: string });
  t.equal(result.code, 1, `an aborted commit exits 1; stderr: ${result.stderr}`);
  t.notMatch(result.stderr, /out of range|ERR_/, 'no raw node error about the delay');
  t.same(
    types.filter((l) => l.type === 'message').map((l) => l.message),
    ['Commit aborted'],
    'the job should be aborted, as for a whole --timeout',
  );
  t.ok(Date.now() - started >= 1000, 'the abort should not come before the timeout');
  t.same(await g.client.execute('query-block-jobs'), [], 'no job should be left running');
});

t.test('commit --timeout 2147484 (beyond 2^31 ms) does not fire at once: the commit pivots', async (t) => {
  const g = await guest(t);
  const result = await runCli(['commit', 'drive0', '--active', '--pivot', '--timeout', '2147484', '--socket', g.cli]);
  t.equal(result.code, 0, `the commit should succeed; stdout: ${result.stdout} stderr: ${result.stderr}`);
  t.match(result.stdout, /^Successfully pivoted$/m, "virsh's words for a pivot");
  t.notMatch(result.stderr, /TimeoutOverflowWarning/, 'no timer overflow warning');
  const disk = await resolveDisk(g.client, 'drive0');
  t.same(
    disk.layers.map((l) => l.file),
    [g.files[0]],
    'the guest should run on base alone',
  );
});

t.test('events --timeout 0.0001 (below a millisecond) ends the loop as timed out', async (t) => {
  const g = await guest(t);
  const result = await runCli(['events', '--timeout', '0.0001', '--socket', g.cli]);
  t.equal(result.code, 0, `a timed-out event loop exits 0; stderr: ${result.stderr}`);
  t.match(result.stderr, /^event loop timed out\nevents received: 0\n$/, "virsh's words, and nothing else");
});

t.test('waitForEvent with a 30-day timeoutMs is still waiting after a 50 ms one timed out', async (t) => {
  const g = await guest(t);
  let settled: unknown;
  const long = g.client.waitForEvent('NEVER_SENT', undefined, { timeoutMs: 30 * 24 * 3600 * 1000 }).then(
    () => (settled = 'resolved'),
    (e: unknown) => (settled = e),
  );
  const short = await g.client.waitForEvent('NEVER_SENT', undefined, { timeoutMs: 50 }).catch((e: unknown) => e);
  t.ok(short instanceof QmpTimeoutError, 'the 50 ms wait should time out');
  t.equal(settled, undefined, `the 30-day wait should still be pending, got ${String(settled)}`);
  await g.client.close();
  await long;
  t.match(String(settled), /closed/, 'it ends when the connection closes, not by its timer');
});
