// The guest harness itself, on a raw ext4 disk: files written and synced, a writer that rewrites a
// fixed set while fstrim runs, caches dropped and every file read back in the guest, then offline
// (fsck.ext4 -fn, debugfs) after power-off. Also says how long the boot takes under TCG.
import t from 'tap';
import path from 'node:path';
import { checkImageOffline, guestKernel, makeExt4Disk, startGuest } from './helpers/guest.js';
import { tempDir } from './helpers/qemu.js';

const kernel = guestKernel(t);
if (kernel) {
  t.test('write, rewrite, trim, read back, power off, check offline', async (t) => {
    const dir = tempDir(t);
    const disk = path.join(dir, 'disk.raw');
    await makeExt4Disk(disk);
    const guest = await startGuest(t, kernel, dir, {
      node: 'disk',
      blockArgs: [
        '-blockdev',
        JSON.stringify({ driver: 'file', filename: disk, 'node-name': 'disk-file', discard: 'unmap' }),
        '-blockdev',
        JSON.stringify({ driver: 'raw', file: 'disk-file', 'node-name': 'disk', discard: 'unmap' }),
      ],
    });
    t.ok(guest.bootMs < 60_000, `the guest booted in ${guest.bootMs} ms`);
    for (const name of ['f/one', 'f/two', 'f/three']) await guest.writeFile(name, 256);
    await guest.startWriter({ files: 4, kib: 128, maxGenerations: 6, trimEvery: 2 });
    const gen = await guest.writerReaches(6);
    const stopped = await guest.stopWriter();
    t.equal(stopped.generation, gen, 'the writer stopped at the generation it had reached');
    t.ok(stopped.trimmedAt >= 2, `fstrim ran while the writer rewrote its files (last at generation ${stopped.trimmedAt})`);
    await guest.fstrim();
    const generations = await guest.verifyFiles(t, 'after the writer stopped');
    t.same([...generations.values()], [6, 6, 6, 6], 'each writer file holds its last generation');
    await guest.powerOff();
    await checkImageOffline(t, disk, guest, 'raw');
  });
}
