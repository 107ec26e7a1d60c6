// A -blockdev chain no device uses is absent from query-block: the disk is found among the named
// nodes by its active layer's node name, and every layer is what qemu-img built.
import t from 'tap';
import { DiskNotFoundError, listDisks, resolveDisk } from '../src/block/index.js';
import { blockdevChainArgs, buildSeedChain } from './helpers/chain.js';
import { expectChainMatchesImages } from './helpers/block.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('bare -blockdev chain resolves by the active node name', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: blockdevChainArgs(layers) });
  t.same(await client.execute('query-block'), [], 'precondition: a bare -blockdev chain is not in query-block');

  const disks = await listDisks(client);
  t.equal(disks.length, 1, 'exactly one disk: the four format nodes form one chain');
  const disk = await resolveDisk(client, 'n4');
  t.equal(disk.device, 'n4', 'device for block-commit is the active node name');
  t.equal(disk.driveId, undefined, 'no drive id on a -blockdev disk');
  t.equal(disk.qdevId, undefined, 'no guest device attached');
  t.same(
    disk.layers.map((l) => l.nodeName),
    ['n1', 'n2', 'n3', 'n4'],
    'node names, base first',
  );
  await expectChainMatchesImages(
    t,
    disk,
    layers.map((l) => l.file),
  );

  const lower = await resolveDisk(client, 'n2').catch((e: unknown) => e);
  t.ok(lower instanceof DiskNotFoundError, 'a lower layer is no disk of its own');
  t.match(
    (lower as Error).message,
    /'n2' not found \(it is an image in the chain of disk 'n4', not a disk\); known disks: 'n4'/,
    'error says where n2 is and lists the known disks',
  );
});
