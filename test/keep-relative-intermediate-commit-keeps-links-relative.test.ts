// virsh --keep-relative: an intermediate commit on a chain with relative backing links writes base's
// relative path into the image above top; --delete then removes what left the chain (a and b, as virsh).
import { existsSync } from 'node:fs';
import t from 'tap';
import { CommitJob, deleteCommittedImages, relativeBackingFile } from '../src/jobs/index.js';
import { compareImages, imageChain } from '../src/transport/qemu-img.js';
import { driveArgs, flatCopy, withoutBlips } from './helpers/jobs.js';
import { buildRelativeChain } from './helpers/chain.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { driveDisk, rangeOf } from './helpers/range.js';

t.test('keep-relative', async (t) => {
  const dir = tempDir(t);
  const names = ['base.raw', 'a.qcow2', 'b.qcow2', 'c.qcow2'];
  const layers = await buildRelativeChain(dir);
  const flat = await flatCopy(dir, layers);
  const { client } = await startQemu(t, { dir, args: driveArgs(layers) });
  const disk = await driveDisk(client, layers, 'drive0');
  disk.layers.forEach((l, i) => {
    if (i > 0) l.backingFile = names[i - 1];
  });
  const range = rangeOf(disk, 3, 1);
  t.equal(relativeBackingFile(range), 'base.raw', 'the relative backing string for c.qcow2');

  const result = await (await CommitJob.start(client, range, { keepRelative: true })).wait({ timeoutMs: 30_000 });
  t.same(withoutBlips(result.history), ['created', 'running', 'waiting', 'pending', 'concluded', 'null'], 'whole state sequence');
  t.equal((await imageChain(layers[3]!.file, { forceShare: true }))[0]?.['backing-filename'], 'base.raw', 'c.qcow2 should record base relatively');
  t.ok(await compareImages(layers[3]!.file, flat, { forceShare: true }), 'the guest view is unchanged');

  const deleted = await deleteCommittedImages(client, range, result);
  t.same(deleted, [layers[1]!.file, layers[2]!.file], 'a.qcow2 and b.qcow2 left the chain and are deleted, as virsh --delete does');
  for (const i of [1, 2]) t.notOk(existsSync(layers[i]!.file), `${names[i]} is gone`);
  for (const i of [0, 3]) t.ok(existsSync(layers[i]!.file), `${names[i]} is kept`);
  t.ok(await compareImages(layers[3]!.file, flat, { forceShare: true }), 'the guest view is still unchanged after the deletion');
});
