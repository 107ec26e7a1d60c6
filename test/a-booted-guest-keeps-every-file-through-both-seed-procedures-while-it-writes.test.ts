// Both seed procedures on a booted Linux guest with ext4 on vda: live snapshots with a file added in
// the guest after each, then (B) an intermediate commit and (A) the active commit + pivot, while the
// guest keeps rewriting files and trimming. The guest reads every file back after the pivot, and
// base.raw passes fsck.ext4 -fn with every file intact offline after the guest powered off.
import t from 'tap';
import { checkImageOffline, guestKernel } from './helpers/guest.js';
import { bootGuestOnBase, snapshotsWithFiles } from './helpers/guest-chain.js';

const kernel = guestKernel(t);
if (kernel) {
  t.test('seed B: intermediate commit, then active commit + pivot, the guest writing throughout', async (t) => {
    const g = await bootGuestOnBase(t, kernel);
    const [sn1, sn2, cur] = await snapshotsWithFiles(t, g, ['sn1', 'sn2', 'cur']);
    await g.guest.startWriter({ files: 4, kib: 128, maxGenerations: 400, trimEvery: 3 });
    const before = await g.guest.writerReaches(1);
    const intermediate = await g.run('commit', 'vda', '--top', sn2!, '--base', g.base, '--wait');
    t.equal(intermediate.code, 0, `intermediate commit of sn1 and sn2 into base; stderr: ${intermediate.stderr}`);
    t.same(await g.chain(), [g.base, cur], 'cur sits on base');
    const active = await g.runWhileGuestWrites('commit', 'vda', '--active', '--pivot');
    t.equal(active.code, 0, `active commit + pivot; stderr: ${active.stderr}`);
    t.same(await g.chain(), [g.base], 'the guest runs on base');
    t.ok(
      active.whileRunning && active.generations[1] > before,
      `the guest kept writing while the commits ran (generations ${before} → ${active.generations.join(' → ')})`,
    );
    t.ok(sn1, 'sn1 existed');
    const stopped = await g.guest.stopWriter();
    t.comment(`writer: ${stopped.generation} generations, last fstrim at ${stopped.trimmedAt}`);
    await g.guest.verifyFiles(t, 'after the pivot');
    await g.guest.powerOff();
    await checkImageOffline(t, g.base, g.guest, 'raw');
  });

  t.test('seed A: active commit + pivot of the whole chain, the guest writing and trimming', async (t) => {
    const g = await bootGuestOnBase(t, kernel);
    await snapshotsWithFiles(t, g, ['sn1', 'sn2', 'cur']);
    await g.guest.startWriter({ files: 4, kib: 128, maxGenerations: 400, trimEvery: 3 });
    const before = await g.guest.writerReaches(1);
    const active = await g.runWhileGuestWrites('commit', 'vda', '--active', '--pivot', '--verbose');
    t.equal(active.code, 0, `active commit + pivot; stderr: ${active.stderr}`);
    t.same(await g.chain(), [g.base], 'the guest runs on base');
    t.ok(
      active.whileRunning && active.generations[1] > before,
      `the guest kept writing while the commit ran (generations ${before} → ${active.generations.join(' → ')})`,
    );
    await g.guest.stopWriter();
    await g.guest.verifyFiles(t, 'after the pivot');
    await g.guest.powerOff();
    await checkImageOffline(t, g.base, g.guest, 'raw');
  });
}
