// `qmp-blockjob demo` (the README's main job): the whole seed procedure on its own QEMU, verified, and
// nothing left behind — also when its reader goes away mid-run.
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import { finished, jsonLines, runCli, startCli, waitForLine } from './helpers/cli.js';

/** Running and not a zombie (a killed orphan stays a zombie until init reaps it). */
function pidAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** SIGKILL lands asynchronously: give it up to `ms` to take effect. */
async function goneWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}

t.test('demo runs to the end and removes its folder', async (t) => {
  const result = await runCli(['demo', '--without-guest', '--json'], 110_000);
  t.equal(result.code, 0, `demo should succeed; stderr: ${result.stderr}`);
  const lines = jsonLines(result.stdout);
  const steps = lines.map((l) => String(l.step ?? l.message ?? ''));
  t.ok(
    steps.some((s) => /^Snapshot: vda now writes into cur\.qcow2/.test(s)),
    'three snapshots should be taken',
  );
  t.ok(
    lines.some((l) => l.message === 'Successfully pivoted'),
    'the demo should pivot',
  );
  t.ok(
    steps.some((s) => /^Verified: all 64 MiB of base\.raw/.test(s)),
    'the demo should verify every byte',
  );
  const dir = /^Working in (.*)$/.exec(steps[0] ?? '')?.[1];
  t.ok(dir && !existsSync(dir), `the throwaway folder ${dir} should be gone`);
});

t.test('demo whose stdout closes early still kills its QEMU and removes its folder', async (t) => {
  const child = startCli(['demo', '--without-guest', '--json']);
  t.teardown(() => child.kill('SIGKILL'));
  let seen = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    seen += chunk.toString();
  });
  const done = finished(child, 60_000);
  const started = await waitForLine(child, (line) => line.includes('Started QEMU'), 60_000);
  const pid = Number(/pid (\d+)/.exec(started)?.[1]);
  const dir = /Working in ([^"]+)/.exec(seen)?.[1];
  child.stdout?.destroy(); // the reader goes away: the next write fails with EPIPE
  await done;
  t.ok(pid > 0 && (await goneWithin(pid, 5000)), `QEMU ${pid} should not outlive the demo`);
  t.ok(dir && !existsSync(dir), `the folder ${dir} should be removed`);
});
