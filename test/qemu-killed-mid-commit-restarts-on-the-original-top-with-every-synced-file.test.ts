// QEMU killed (SIGKILL) in the middle of a slow active commit while the guest writes: restarted on
// the original top, the guest mounts its ext4 (journal replayed) and reads back every file it had
// synced; every rewritten file is whole; after power-off the image passes fsck.ext4 -fn and the
// files are intact offline.
import t from 'tap';
import { checkImageOffline, guestKernel, startGuest } from './helpers/guest.js';
import { bootGuestOnBase, snapshotsWithFiles } from './helpers/guest-chain.js';
import { tempDir } from './helpers/qemu.js';

const kernel = guestKernel(t);
if (kernel) {
  t.test('kill -9 mid-commit, restart on the original top', async (t) => {
    const g = await bootGuestOnBase(t, kernel);
    const [, , cur] = await snapshotsWithFiles(t, g, ['sn1', 'sn2', 'cur']);
    await g.guest.startWriter({ files: 4, kib: 128, maxGenerations: 400, trimEvery: 3 });
    const started = await g.run('commit', 'vda', '--active', '--bandwidth', '131072', '--bytes');
    t.equal(started.code, 0, `a slow active commit starts; stderr: ${started.stderr}`);
    const gen = await g.guest.writerGeneration();
    await g.guest.writerReaches(gen + 2);
    const [job] = await g.guest.client.execute('query-block-jobs');
    t.ok(job && job.offset < job.len && job.type === 'commit', `the commit is mid-way when QEMU is killed (${job?.offset} of ${job?.len} bytes)`);
    g.guest.started.qemu.kill('SIGKILL');
    await g.guest.started.qemu.exited;
    g.guest.close();

    const again = await startGuest(t, kernel, tempDir(t), { node: 'top', blockArgs: ['-drive', `if=none,id=top,file=${cur},format=qcow2`] });
    for (const [name, sum] of g.guest.recorded) again.recorded.set(name, sum);
    const generations = await again.verifyFiles(t, 'after the restart on the original top');
    t.equal(generations.size, 4, `every writer file is there (${[...generations].map(([f, n]) => `${f}:g${n}`).join(' ')})`);
    await again.powerOff();
    await checkImageOffline(t, cur!, again, 'qcow2');
  });
}
