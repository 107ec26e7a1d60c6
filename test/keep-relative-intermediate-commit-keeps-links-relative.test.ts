// virsh --keep-relative: an intermediate commit on a chain with relative backing links writes base's
// relative path into the image above top; --delete then removes what left the chain (a and b, as virsh).
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { CommitJob, deleteCommittedImages, relativeBackingFile } from '../src/jobs/index.js';
import { compareImages, createImage, imageChain, qemuIo } from '../src/transport/qemu-img.js';
import { driveArgs, flatCopy, withoutBlips } from './helpers/jobs.js';
import type { Layer } from './helpers/chain.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { driveDisk, rangeOf } from './helpers/range.js';

t.test('keep-relative', async (t) => {
  const dir = tempDir(t);
  const names = ['base.raw', 'a.qcow2', 'b.qcow2', 'c.qcow2'];
  const writes: Array<[number, number, number]> = [[0, 4, 0x41], [2, 4, 0x42], [5, 4, 0x43], [8, 2, 0x44]];
  const layers: Layer[] = [];
  for (const [i, name] of names.entries()) {
    const file = path.join(dir, name);
    const format = i === 0 ? 'raw' : 'qcow2';
    // Relative backing strings, as written by `qemu-img create -b <name>` in the same folder.
    await createImage(file, i === 0 ? { format, size: '12M' } : { format, backing: names[i - 1] as string, backingFormat: i === 1 ? 'raw' : 'qcow2' });
    const [off, len, pat] = writes[i] as [number, number, number];
    await qemuIo(file, [`write -P ${pat} ${off}M ${len}M`], { format });
    layers.push({ file, format, writes: [[off, len, pat]] });
  }
  const flat = await flatCopy(dir, layers);
  const { client } = await startQemu(t, { dir, args: driveArgs(layers) });
  const disk = await driveDisk(client, layers, 'drive0');
  disk.layers.forEach((l, i) => { if (i > 0) l.backingFile = names[i - 1]; });
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
