// `events` whose stdout is not read: writes wait for the pipe (backpressure), so events pile up only
// in the client's bounded queue, and past 10,000 the command stops with a clear error instead of
// growing without bound (it once grew from 276 MB to 973 MB in 18 s).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { QmpClient } from '../src/index.js';
import { extraMonitorArgs, startCli, waitForLine } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : NaN;
}

t.test('events --json with a reader that stops reading fails at the queue bound', async (t) => {
  const dir = tempDir(t);
  const second = path.join(dir, 'm2.sock');
  const { qemu, client } = await startQemu(t, { dir, args: extraMonitorArgs(second, 'm2') });
  await client.close();
  const child = startCli(['events', '--json', '--socket', qemu.socketPath]);
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  let failed = false;
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    failed ||= stderr.includes('error:');
  });
  await waitForLine(child, (line) => line.includes('"listening"'));
  child.stdout!.pause(); // the reader stops reading: the pipe fills up
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const other = await QmpClient.connect({ path: second });
  t.teardown(() => other.close());
  let peakMiB = 0;
  let rounds = 0;
  // 2 events per round: 10,000 queued plus what the pipe holds overflow well before 12,000 rounds.
  while (rounds < 12_000 && !failed) {
    await Promise.all([other.execute('stop'), other.execute('cont')]);
    if (++rounds % 500 === 0) peakMiB = Math.max(peakMiB, rssMiB(child.pid!));
  }
  t.match(stderr, /^error: the event consumer fell more than 10000 events behind/m, `the command should say the reader is too slow (after ${rounds} rounds)`);
  t.ok(peakMiB < 200, `the command's memory should stay bounded, peak RSS ${peakMiB.toFixed(0)} MiB`);
  // The slow reader reads again: what was written reaches it, then the command exits 1.
  child.stdout!.resume();
  t.equal(await exit, 1, 'the command should exit 1 once its output is read');
  t.notMatch(stderr, /\n\s+at /, 'no stack trace');
});
