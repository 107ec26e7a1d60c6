// A real guest that writes faster than an active commit held by --bandwidth copies: the CLI says
// "not converging", --converge throttle=1 limits the guest's writes until the pivot, the commit
// reaches READY and pivots, and the guest's files are intact in the guest and offline (fsck clean).
import t from 'tap';
import { jsonLines } from './helpers/cli.js';
import { checkImageOffline, guestKernel } from './helpers/guest.js';
import { bootGuestOnBase, snapshotsWithFiles } from './helpers/guest-chain.js';

const kernel = guestKernel(t);
if (kernel) {
  t.test('outpaced at 2 MiB/s, converged by throttle=1, pivoted', async (t) => {
    const g = await bootGuestOnBase(t, kernel);
    await snapshotsWithFiles(t, g, ['cur']);
    // 4 MiB per round, measured at about 5 MiB/s under TCG here: faster than the 2 MiB/s copy.
    await g.guest.startWriter({ files: 4, kib: 1024, maxGenerations: 2000, trimEvery: 4 });
    await g.guest.writerReaches(1);
    const t0 = Date.now();
    const commit = await g.run('commit', 'vda', '--active', '--pivot', '--bandwidth', '2', '--converge', 'throttle=1', '--json');
    t.comment(`commit + pivot took ${Date.now() - t0} ms`);
    t.equal(commit.code, 0, `the commit pivots; stderr: ${commit.stderr}`);
    const lines = jsonLines(commit.stdout);
    const types = lines
      .map((l) => (l.type === 'event' ? l.event : l.type))
      .filter((x) => ['convergence', 'BLOCK_JOB_READY', 'BLOCK_JOB_COMPLETED', 'throttle'].includes(String(x)));
    t.same(
      types,
      ['convergence', 'BLOCK_JOB_READY', 'BLOCK_JOB_COMPLETED', 'throttle'],
      'not converging, then READY, the pivot, and the limit lifted, in that order',
    );
    const verdict = lines.find((l) => l.type === 'convergence') as
      | { converging?: boolean; guestBytesPerSecond?: number; copyBytesPerSecond?: number }
      | undefined;
    t.equal(verdict?.converging, false, `the guest outpaced the copy (guest ${verdict?.guestBytesPerSecond} B/s, copy ${verdict?.copyBytesPerSecond} B/s)`);
    t.same(await g.chain(), [g.base], 'the guest runs on base');
    await g.guest.stopWriter();
    await g.guest.verifyFiles(t, 'after the throttled pivot');
    await g.guest.powerOff();
    await checkImageOffline(t, g.base, g.guest, 'raw');
  });
}
