// Pull (block-stream) and copy + pivot (blockdev-mirror) on a booted Linux guest that keeps
// rewriting files and trimming: the guest reads every file back, and the copy it now runs on
// passes fsck.ext4 -fn with every file intact offline after the guest powered off.
import path from 'node:path';
import t from 'tap';
import { checkImageOffline, guestKernel } from './helpers/guest.js';
import { bootGuestOnBase, snapshotsWithFiles } from './helpers/guest-chain.js';

const kernel = guestKernel(t);
if (kernel) {
  t.test('pull the chain into the active image, then copy it and pivot, the guest writing throughout', async (t) => {
    const g = await bootGuestOnBase(t, kernel);
    const [, , cur] = await snapshotsWithFiles(t, g, ['sn1', 'sn2', 'cur']);
    await g.guest.startWriter({ files: 4, kib: 128, maxGenerations: 400, trimEvery: 3 });
    const atStart = await g.guest.writerReaches(1);
    const pull = await g.runWhileGuestWrites('pull', 'vda', '--wait');
    t.equal(pull.code, 0, `pull of the whole chain; stderr: ${pull.stderr}`);
    t.same(await g.chain(), [cur], 'the guest runs on cur alone');
    const afterPull = await g.guest.writerGeneration();
    const dest = path.join(g.dir, 'copy.qcow2');
    const copy = await g.runWhileGuestWrites('copy', 'vda', '--dest', dest, '--pivot');
    t.equal(copy.code, 0, `copy + pivot; stderr: ${copy.stderr}`);
    t.same(await g.chain(), [dest], 'the guest runs on the copy');
    const end = await g.guest.writerGeneration();
    t.ok(
      pull.whileRunning && copy.whileRunning && end > afterPull && afterPull > atStart,
      `the guest kept writing while each job ran (generations ${atStart} → ${afterPull} → ${end})`,
    );
    await g.guest.stopWriter();
    await g.guest.verifyFiles(t, 'after the copy pivoted');
    await g.guest.powerOff();
    await checkImageOffline(t, dest, g.guest, 'qcow2');
  });
}
