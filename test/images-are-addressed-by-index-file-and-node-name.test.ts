// Every way to name an image of a live chain finds the right layer: vda[N], the absolute path, the
// backing string as written in the overlay, a unique base name, the node name. Checked on a chain
// captured from a real QEMU (pc, virtio vda on a -drive whose backing strings are relative).
import path from 'node:path';
import t from 'tap';
import { ImageNotInChainError, resolveCommitRange, resolveDisk, resolveLayer, type DiskChain } from '../src/block/index.js';
import { buildSeedChain } from './helpers/chain.js';
import { makeBackingStringsRelative } from './helpers/block.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('addressing on a live vda chain', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  await makeBackingStringsRelative(layers);
  const files = layers.map((l) => l.file);
  const { client } = await startQemu(t, {
    dir,
    machine: 'pc',
    args: ['-accel', 'tcg', '-drive', `if=none,id=drive0,file=${files[3]},format=qcow2`, '-device', 'virtio-blk-pci,id=vda,drive=drive0'],
  });
  const vda = await resolveDisk(client, 'vda');
  t.same(
    vda.layers.map((l) => l.backingFile),
    [undefined, 'base.raw', 'a.qcow2', 'b.qcow2'],
    'precondition: relative backing strings as written',
  );

  for (let n = 1; n <= 4; n++) {
    const layer = resolveLayer(vda, `vda[${n}]`);
    t.equal(layer.index, n, `vda[${n}] should be index ${n}`);
    t.equal(layer.file, files[n - 1], `vda[${n}] should be ${path.basename(files[n - 1]!)}`);
    t.equal(resolveLayer(vda, `drive0[${n}]`), layer, `drive0[${n}] names the same disk's layer`);
    t.equal(resolveLayer(vda, files[n - 1]!), layer, `absolute path of layer ${n}`);
    t.equal(resolveLayer(vda, layer.nodeName), layer, `node name ${layer.nodeName} of layer ${n}`);
    t.equal(resolveLayer(vda, path.basename(files[n - 1]!)), layer, `base name of layer ${n}`);
  }
  t.equal(resolveLayer(vda, 'a.qcow2').index, 2, "'a.qcow2' as written in b.qcow2's header is layer 2");
  t.equal(resolveLayer(vda, path.join(dir, '.', 'b.qcow2')).index, 3, 'a non-normalized absolute path still matches');

  const misses: Array<[string, RegExp]> = [
    ['vda[0]', /no image with index 0 \(indices are 1, 2, 3, 4\)/],
    ['vda[5]', /no image with index 5/],
    ['vdb[1]', /'vdb' is not this disk \(this is 'vda'\)/],
    ['/nowhere/x.qcow2', /no image has that file name, node name or index; the chain is \[1\] .*base\.raw/],
  ];
  for (const [spec, message] of misses) {
    const error = (() => {
      try {
        resolveLayer(vda, spec);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    t.ok(error instanceof ImageNotInChainError, `${spec} should be refused with ImageNotInChainError`);
    t.match((error as Error).message, message, `${spec}: message says why`);
  }

  const whole = resolveCommitRange(vda, {});
  t.same([whole.top.index, whole.base.index, whole.active], [4, 1, true], 'defaults: top = active layer, base = bottom, active commit');
  const middle = resolveCommitRange(vda, { top: 'vda[3]', base: 'vda[1]' });
  t.same([middle.top.index, middle.base.index, middle.active], [3, 1, false], 'vda[3] into vda[1] is an intermediate commit');
  const byNode = resolveCommitRange(vda, { topNode: vda.layers[2]!.nodeName, baseNode: vda.layers[1]!.nodeName });
  t.same([byNode.top.index, byNode.base.index], [3, 2], 'topNode/baseNode select by node name');

  // A transport may renumber indices (libvirt's grow: 1, 5, 6, 7). Match on index, order by position.
  const renumbered: DiskChain = { ...vda, layers: vda.layers.map((l, i) => ({ ...l, index: [1, 5, 6, 7][i]! })) };
  t.equal(resolveLayer(renumbered, 'vda[5]').file, files[1], 'vda[5] is the second image after renumbering');
  t.throws(() => resolveLayer(renumbered, 'vda[2]'), ImageNotInChainError, 'vda[2] no longer exists after renumbering');
  const range = resolveCommitRange(renumbered, { top: 'vda[6]', base: 'vda[1]' });
  t.same([range.top.file, range.base.file], [files[2], files[0]], 'range on renumbered indices');
});
