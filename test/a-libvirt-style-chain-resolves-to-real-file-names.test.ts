// libvirt opens every image as a "libvirt-N-storage" file node under a "libvirt-N-format" node, so
// QEMU reports each format node's file as a json:{…} pseudo-filename. Layers must carry the real path.
import t from 'tap';
import { resolveDisk } from '../src/block/index.js';
import { buildSeedChain } from './helpers/chain.js';
import { expectChainMatchesImages, makeBackingStringsRelative } from './helpers/block.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('libvirt node naming, with the device alias libvirt uses', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  // As in libvirt's chains, the recorded backing strings are relative; QEMU then names nodes json:{…}.
  await makeBackingStringsRelative(layers);
  // libvirt numbers nodes as it opens them: the active layer gets the highest number here.
  const args: string[] = [];
  layers.forEach((layer, i) => {
    const n = i + 1;
    args.push(
      '-blockdev',
      JSON.stringify({ driver: 'file', filename: layer.file, 'node-name': `libvirt-${n}-storage`, 'auto-read-only': true, discard: 'unmap' }),
    );
    const format: Record<string, unknown> = {
      'node-name': `libvirt-${n}-format`,
      'read-only': i < layers.length - 1,
      driver: layer.format,
      file: `libvirt-${n}-storage`,
    };
    if (layer.format === 'qcow2') format.backing = `libvirt-${n - 1}-format`;
    args.push('-blockdev', JSON.stringify(format));
  });
  const { client } = await startQemu(t, {
    dir,
    machine: 'pc',
    args: ['-accel', 'tcg', ...args, '-device', 'virtio-blk-pci,drive=libvirt-4-format,id=virtio-disk0'],
  });

  const [block] = await client.execute('query-block');
  t.match(block?.inserted?.file, /^json:\{/, 'precondition: QEMU reports a json: pseudo-filename for the active layer');

  const disk = await resolveDisk(client, 'virtio-disk0');
  t.same(
    disk.layers.map((l) => l.nodeName),
    ['libvirt-1-format', 'libvirt-2-format', 'libvirt-3-format', 'libvirt-4-format'],
    'format nodes, not storage nodes',
  );
  await expectChainMatchesImages(
    t,
    disk,
    layers.map((l) => l.file),
  );
  t.equal(disk.device, 'libvirt-4-format', 'block-commit device is the active format node');
});
