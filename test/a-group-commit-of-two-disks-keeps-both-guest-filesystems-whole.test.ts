// A guest with ext4 on two disks (vda on /mnt, vdb on /mnt/b): atomic two-disk snapshots with files
// added on both after each, then one group commit that pivots both while the guest writes. Both
// filesystems read back in the guest, and both base images pass fsck.ext4 -fn with every file
// intact offline after power-off.
import path from 'node:path';
import t from 'tap';
import { resolveDisk } from '../src/internal.js';
import { checkImageOffline, guestKernel } from './helpers/guest.js';
import { bootGuestOnBase } from './helpers/guest-chain.js';

const kernel = guestKernel(t);
if (kernel) {
  t.test('two disks, two filesystems: atomic snapshots, one group commit + pivot', async (t) => {
    const g = await bootGuestOnBase(t, kernel, { vdb: true });
    const baseB = path.join(g.dir, 'base-b.raw');
    await g.guest.writeFile('b/f/base', 256);
    const tops: string[] = [];
    for (const name of ['sn1', 'cur']) {
      const a = path.join(g.dir, `vda-${name}.qcow2`);
      const b = path.join(g.dir, `vdb-${name}.qcow2`);
      const made = await g.run('snapshot', '--diskspec', `vda,file=${a}`, '--diskspec', `vdb,file=${b}`);
      t.equal(made.code, 0, `atomic snapshot of both disks (${name}); stderr: ${made.stderr}`);
      await g.guest.writeFile(`f/${name}`, 256);
      await g.guest.writeFile(`b/f/${name}`, 256);
      tops.push(a, b);
    }
    await g.guest.startWriter({ files: 4, kib: 128, maxGenerations: 400, trimEvery: 3 });
    const before = await g.guest.writerReaches(1);
    const commit = await g.run('commit', 'vda', 'vdb', '--active', '--pivot');
    t.equal(commit.code, 0, `group commit + pivot of vda and vdb; stderr: ${commit.stderr}`);
    t.same(await g.chain(), [g.base], 'vda runs on its base');
    t.same(
      (await resolveDisk(g.guest.client, 'vdb')).layers.map((l) => l.file),
      [baseB],
      'vdb runs on its base',
    );
    t.ok((await g.guest.writerGeneration()) >= before, 'the guest was writing');
    await g.guest.stopWriter();
    await g.guest.verifyFiles(t, 'after the group pivot');
    await g.guest.powerOff();
    await checkImageOffline(t, g.base, g.guest, 'raw');
    await checkImageOffline(t, baseB, g.guest, 'raw', { vdb: true });
  });
}
