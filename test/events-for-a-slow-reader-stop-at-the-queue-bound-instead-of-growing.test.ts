// `events` whose stdout is not read: writes wait for the pipe (backpressure), so events pile up only
// in the client's bounded queue, and past 10,000 the command stops with a clear error instead of
// growing without bound (it once grew from 276 MB to 973 MB in 18 s).
import t from 'tap';
import { eventsCliWithTrigger } from './helpers/events-cli.js';
import { rssMiB } from './helpers/heap.js';

t.test('events --json with a reader that stops reading fails at the queue bound', async (t) => {
  const { child, trigger: other, stderr: output } = await eventsCliWithTrigger(t);
  child.stdout!.pause(); // the reader stops reading: the pipe fills up
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let peakMiB = 0;
  let rounds = 0;
  // 2 events per round: 10,000 queued plus what the pipe holds overflow well before 12,000 rounds.
  while (rounds < 12_000 && !output().includes('error:')) {
    await Promise.all([other.execute('stop'), other.execute('cont')]);
    if (++rounds % 500 === 0) peakMiB = Math.max(peakMiB, rssMiB(child.pid!));
  }
  t.match(output(), /^error: the event consumer fell more than 10000 events behind/m, `the command should say the reader is too slow (after ${rounds} rounds)`);
  t.ok(peakMiB < 200, `the command's memory should stay bounded, peak RSS ${peakMiB.toFixed(0)} MiB`);
  // The slow reader reads again: what was written reaches it, then the command exits 1.
  child.stdout!.resume();
  t.equal(await exit, 1, 'the command should exit 1 once its output is read');
  t.notMatch(output(), /\n\s+at /, 'no stack trace');
});
