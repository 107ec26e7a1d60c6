// With a guest (pc, TCG) and virtio-blk devices, a disk is found by its qdev id ("vda") and by its
// QOM path, whether the device sits on a -drive or on a -blockdev node.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { listDisks, resolveDisk } from '../src/block/index.js';
import { blockdevChainArgs, buildSeedChain } from './helpers/chain.js';
import { expectChainMatchesImages } from './helpers/block.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('virtio disks on -drive and on -blockdev', async (t) => {
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'a'));
  mkdirSync(path.join(dir, 'b'));
  const onDrive = await buildSeedChain(path.join(dir, 'a'));
  const onBlockdev = await buildSeedChain(path.join(dir, 'b'));
  const { client } = await startQemu(t, {
    dir,
    machine: 'pc',
    args: [
      '-accel',
      'tcg',
      '-drive',
      `if=none,id=drive0,file=${onDrive[3]!.file},format=qcow2`,
      '-device',
      'virtio-blk-pci,id=vda,drive=drive0',
      ...blockdevChainArgs(onBlockdev, 'm'),
      '-device',
      'virtio-blk-pci,id=vdb,drive=m4',
    ],
  });

  const disks = await listDisks(client);
  t.same(
    disks.map((d) => d.qdevId),
    ['vda', 'vdb'],
    'two disks, by qdev id',
  );

  const vda = await resolveDisk(client, 'vda');
  t.equal(vda.qdevPath, '/machine/peripheral/vda/virtio-backend', 'QOM path of vda');
  t.equal(vda.driveId, 'drive0', 'vda sits on drive0');
  t.equal(vda.device, 'drive0', 'block-commit device for vda is the drive id');
  await expectChainMatchesImages(
    t,
    vda,
    onDrive.map((l) => l.file),
  );
  t.same(await resolveDisk(client, '/machine/peripheral/vda/virtio-backend'), vda, 'the QOM path finds vda');
  t.same(await resolveDisk(client, '/machine/peripheral/vda'), vda, 'the device path without /virtio-backend finds vda');
  t.same(await resolveDisk(client, 'drive0'), vda, 'the drive id finds vda');

  const vdb = await resolveDisk(client, 'vdb');
  t.equal(vdb.qdevPath, '/machine/peripheral/vdb/virtio-backend', 'QOM path of vdb');
  t.equal(vdb.driveId, undefined, 'vdb has no drive id');
  t.equal(vdb.device, 'm4', 'block-commit device for vdb is its active node name');
  t.same(
    vdb.layers.map((l) => l.nodeName),
    ['m1', 'm2', 'm3', 'm4'],
    'vdb node names, base first',
  );
  await expectChainMatchesImages(
    t,
    vdb,
    onBlockdev.map((l) => l.file),
  );
  t.same(await resolveDisk(client, '/machine/peripheral/vdb/virtio-backend'), vdb, 'the QOM path finds vdb');
  t.same(await resolveDisk(client, 'm4'), vdb, 'the active node name finds vdb');
});
