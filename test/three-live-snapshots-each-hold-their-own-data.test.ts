// Three successive live snapshots of one running disk, with different data written through QEMU
// between them: the chain grows to four images and each file holds exactly what was written while
// it was the active layer.
import path from 'node:path';
import t from 'tap';
import { createSnapshots, resolveDisk } from '../src/block/index.js';
import { expectChainMatchesImages, hmpQemuIo, readChecksPass } from './helpers/block.js';
import { tempDir } from './helpers/qemu.js';
import { startBaseOnlyGuest } from './helpers/base-guest.js';

/** The file alone, its backing cut off: holes read as zeros. */
function alone(file: string, driver = 'qcow2'): string {
  const backing = driver === 'qcow2' ? { backing: null } : {};
  return `json:${JSON.stringify({ driver, file: { driver: 'file', filename: file }, ...backing })}`;
}

t.test('snapshot, write, three times on a virtio disk on -blockdev', async (t) => {
  const dir = tempDir(t);
  const { client, base } = await startBaseOnlyGuest(t, dir, { sizeMiB: 4, pattern: [0, 1, 0x41] });

  const files: string[] = [base];
  for (const [i, pattern] of [0x11, 0x12, 0x13].entries()) {
    const file = path.join(dir, `s${i + 1}.qcow2`);
    const [chain] = await createSnapshots(client, [{ disk: 'vda', file, nodeName: `s${i + 1}` }]);
    files.push(file);
    t.same(
      chain?.layers.map((l) => l.file),
      files,
      `after snapshot ${i + 1} the chain is ${files.map((f) => path.basename(f)).join(' <- ')}`,
    );
    t.equal(chain?.device, `s${i + 1}`, `the new overlay s${i + 1} is the active layer`);
    // Through the guest device, as the guest would write (a node held by a device refuses writes).
    await hmpQemuIo(client, '/machine/peripheral/vda/virtio-backend', `write -P ${pattern} ${i + 1}M 1M`);
    // The qcow2 metadata of the active layer lives in QEMU's cache until flushed; readers outside need it on disk.
    await hmpQemuIo(client, '/machine/peripheral/vda/virtio-backend', 'flush');
  }

  const disk = await resolveDisk(client, 'vda');
  t.equal(disk.layers.length, 4, 'four images');
  await expectChainMatchesImages(t, disk, files);
  t.same(
    disk.layers.slice(1).map((l) => l.backingFile),
    files.slice(0, 3),
    'each overlay records the image it was put on',
  );

  // Each overlay alone: its own MiB, zeros elsewhere. The base: only its 'A's.
  await t.resolves(readChecksPass(alone(base, 'raw'), ['read -P 0x41 0 1M', 'read -P 0 1M 3M']), 'base.raw holds only its own A at 0 MiB');
  for (const [i, pattern] of [0x11, 0x12, 0x13].entries()) {
    const own = i + 1;
    const reads = [0, 1, 2, 3].map((mib) => `read -P ${mib === own ? pattern : 0} ${mib}M 1M`);
    await t.resolves(readChecksPass(alone(files[own]!), reads), `s${own}.qcow2 holds exactly pattern ${pattern} at ${own} MiB`);
  }
  // And the guest's view through the whole chain.
  await t.resolves(
    readChecksPass(files[3]!, ['read -P 0x41 0 1M', 'read -P 0x11 1M 1M', 'read -P 0x12 2M 1M', 'read -P 0x13 3M 1M']),
    'the guest sees every write',
  );
});
