// The convergence verdict from progress samples: what is left shrinking is converging; a guest
// writing (device counters or len) at least as fast as the job copies, with nothing left shrinking,
// is not; a window with nothing moving says nothing; and the guest's write limit is built so that
// QEMU accepts it and it can be put back.
import t from 'tap';
import { ConvergenceTracker } from '../../src/jobs/convergence.js';
import { withWriteLimit } from '../../src/block/guest-io.js';

const MiB = 1 << 20;

t.test('verdicts over a 4 s window', async (t) => {
  const steady = new ConvergenceTracker(4000);
  const verdicts = [0, 1000, 2000, 3000, 4000, 5000].map((at, i) =>
    steady.add({ atMs: at, offset: i * 8 * MiB, len: 64 * MiB + i * 2 * MiB, written: i * 2 * MiB }),
  );
  t.same(verdicts.slice(0, 4), [undefined, undefined, undefined, undefined], 'no verdict before a whole window is covered');
  t.equal(verdicts[4]?.converging, true, 'copying 8 MiB/s against 2 MiB/s of writes converges');
  t.equal(verdicts[5]?.copyBytesPerSecond, 8 * MiB, 'the copy rate is measured over the window');

  const outpaced = new ConvergenceTracker(4000);
  let verdict;
  for (let i = 0; i <= 4; i++) verdict = outpaced.add({ atMs: i * 1000, offset: i * 40 * MiB, len: 100 * MiB + i * 58 * MiB, written: i * 58 * MiB });
  t.same(
    verdict && [verdict.converging, verdict.guestBytesPerSecond / MiB, verdict.copyBytesPerSecond / MiB],
    [false, 58, 40],
    'guest writes 58 MiB/s, copy 40 MiB/s: not converging',
  );

  const bursts = new ConvergenceTracker(4000);
  // A job held by --bandwidth: a burst, then its numbers stand still; writes outside the device
  // model (HMP qemu-io) show only as len growing at the next burst.
  const samples = [
    [0, 12, 12],
    [1000, 12, 12],
    [2000, 12, 12],
    [3000, 24, 24],
    [4000, 24, 24],
  ] as const;
  for (const [at, offset, len] of samples) verdict = bursts.add({ atMs: at, offset: offset * MiB, len: len * MiB, written: 0 });
  t.equal(verdict?.converging, false, 'bursts that copy only what the guest dirtied again do not converge');

  const idle = new ConvergenceTracker(4000);
  for (let i = 0; i <= 5; i++) verdict = idle.add({ atMs: i * 1000, offset: 12 * MiB, len: 12 * MiB, written: 0 });
  t.equal(verdict, undefined, 'nothing moving at all (a sleeping job, an idle guest) gives no verdict');
});

t.test('the guest write limit', async (t) => {
  const none = { bps: 0, bps_rd: 0, bps_wr: 0, iops: 0, iops_rd: 0, iops_wr: 0 };
  t.same(withWriteLimit(none, MiB), { ...none, bps_wr: MiB }, 'an unlimited device gets a write limit');
  t.same(withWriteLimit({ ...none, bps_wr: MiB / 2 }, MiB).bps_wr, MiB / 2, 'a lower limit already there is kept');
  const total = withWriteLimit({ ...none, bps: 10 * MiB, bps_max: 20 * MiB }, MiB);
  t.same([total.bps, total.bps_wr, total.bps_max], [MiB, 0, undefined], 'a total limit is lowered instead (QEMU refuses bps with bps_wr), its burst dropped');
});
