// A -drive chain: QEMU opens the backing files itself and names the nodes #blockNNN.
import t from 'tap';
import { resolveDisk } from '../src/block/index.js';
import { buildSeedChain } from './helpers/chain.js';
import { expectChainMatchesImages } from './helpers/block.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('-drive chain resolves by drive id and by active node name', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const top = layers[layers.length - 1]!;
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${top.file},format=qcow2`] });

  const disk = await resolveDisk(client, 'drive0');
  t.equal(disk.device, 'drive0', 'device for block-commit is the drive id');
  t.equal(disk.driveId, 'drive0', 'drive id is kept');
  for (const layer of disk.layers) t.match(layer.nodeName, /^#block\d+$/, `layer [${layer.index}] has an auto node name`);
  await expectChainMatchesImages(
    t,
    disk,
    layers.map((l) => l.file),
  );

  // The protocol node under each image has the same file name: the format node must be the one picked.
  t.same(
    disk.layers.map((l) => l.format),
    ['raw', 'qcow2', 'qcow2', 'qcow2'],
    'format nodes, not their file nodes',
  );
  const active = disk.layers[3]!.nodeName;
  t.same(await resolveDisk(client, active), disk, 'the active node name finds the same disk');
});
