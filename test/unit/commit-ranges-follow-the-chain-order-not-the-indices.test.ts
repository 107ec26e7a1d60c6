// The rules about order — base below top, what lies between, what a commit invalidates and what
// --delete removes — follow the chain's order, never the numbers: checked on a chain named the
// libvirt way (numbered from the top, 1 = active) and on one named by position.
import t from 'tap';
import {
  layersBetween,
  resolveCommitRange,
  resolvePullRange,
  validateRangeSpec,
  ConflictingArgumentsError,
  ImageNotInChainError,
  InvalidCommitRangeError,
} from '../../src/block/index.js';
import type { DiskChain } from '../../src/block/types.js';
import { invalidatedBy } from '../../src/jobs/invalidated.js';
import { commitArguments, relativeBackingFile } from '../../src/jobs/commit-options.js';
import { JobOptionError } from '../../src/jobs/errors.js';

const files = ['/i/base.raw', '/i/a.qcow2', '/i/b.qcow2', '/i/c.qcow2'];
function chain(indices: number[]): DiskChain {
  return {
    device: 'libvirt-1-format',
    qdevPath: '/machine/peripheral/virtio-disk0/virtio-backend',
    target: 'vda',
    layers: files.map((file, i) => ({
      index: indices[i]!,
      nodeName: `libvirt-${indices[i]}-format`,
      file,
      format: i ? 'qcow2' : 'raw',
      virtualSize: 12 << 20,
      ...(i ? { backingFile: files[i - 1]!.slice(3) } : {}),
    })),
  };
}

for (const [how, indices] of [
  ['libvirt, numbered from the top', [4, 3, 2, 1]],
  ['by position', [1, 2, 3, 4]],
] as const) {
  const disk = chain([...indices]);
  const name = (i: number): string => `vda[${indices[i]}]`;
  t.test(how, async (t) => {
    const seedB = resolveCommitRange(disk, { base: name(0), top: name(2) });
    t.same([seedB.base.file, seedB.top.file, seedB.active], [files[0], files[2], false], 'seed B: base and b, an intermediate commit');
    t.same(
      layersBetween(disk, seedB.base, seedB.top).between.map((l) => l.file),
      [files[1]],
      'a lies between',
    );
    t.same(
      invalidatedBy(seedB, 'completed'),
      { files: [files[1]], stillValid: [files[0], files[2], files[3]], removedFromChain: [files[1], files[2]] },
      'intermediate: a invalid; --delete removes a and b',
    );
    const seedA = resolveCommitRange(disk, { active: true });
    t.same(invalidatedBy(seedA, 'pivoted').removedFromChain, files.slice(1), 'pivot: everything but base leaves the chain');
    t.same(invalidatedBy(seedA, 'overlay-kept').removedFromChain, [], 'keep-overlay: nothing leaves the chain');
    t.same(invalidatedBy(seedA, 'aborted'), { files: files.slice(0, 3), stillValid: [files[3]], removedFromChain: [] }, 'abort: base partly written');
    t.throws(() => resolveCommitRange(disk, { base: name(2), top: name(0) }), InvalidCommitRangeError, 'base above top is refused');
    t.throws(() => resolveCommitRange(disk, { top: name(2), active: true }), InvalidCommitRangeError, '--active with a top that is not active is refused');
    t.throws(() => resolveCommitRange(disk, { active: false }), InvalidCommitRangeError, 'the active layer without --active is refused');
    t.equal(resolveCommitRange(disk, { top: name(2), shallow: true }).base.file, files[1], 'shallow: the image right below top');
    t.same(
      Object.keys(commitArguments(seedB, 'commit-vda', {}, {})).sort(),
      ['base-node', 'device', 'job-id', 'top-node'],
      'block-commit arguments name nodes',
    );
    t.equal(relativeBackingFile(seedB), 'base.raw', 'keep-relative: the backing string relative to the image above top');
    const reversed = { ...seedB, base: seedB.top, top: seedB.base };
    t.throws(() => commitArguments(reversed, 'x', {}, {}), JobOptionError, 'a reversed range built by hand is refused too');
  });
}

t.test('specs that need no chain are checked before connecting', async (t) => {
  t.throws(() => validateRangeSpec({ base: '' }), ConflictingArgumentsError, 'an empty base (an unset variable) is refused');
  t.throws(() => validateRangeSpec({ top: 'x', topNode: 'y' }), ConflictingArgumentsError, 'top and topNode exclude each other');
  t.throws(() => validateRangeSpec({ shallow: true, base: 'x' }), ConflictingArgumentsError, 'shallow and base exclude each other');
  const huge = (() => {
    try {
      resolveCommitRange(chain([1, 2, 3, 4]), { top: 'vda[99999999999999999999]' });
      return undefined;
    } catch (e) {
      return e as Error;
    }
  })();
  t.ok(huge instanceof ImageNotInChainError, 'an index that names no image is refused');
  t.match(huge?.message, /index 99999999999999999999 /, 'and echoed as typed');
});

t.test('pull ranges follow the chain order too', async (t) => {
  for (const indices of [
    [4, 3, 2, 1],
    [1, 2, 3, 4],
  ]) {
    const disk = chain(indices);
    const whole = resolvePullRange(disk, {});
    t.same(
      [whole.base, whole.pulled.map((l) => l.file)],
      [undefined, files.slice(0, 3)],
      `no base: everything below the active layer is pulled (${indices.join(',')})`,
    );
    const above = resolvePullRange(disk, { base: `vda[${indices[1]}]` });
    t.same([above.base?.file, above.pulled.map((l) => l.file)], [files[1], [files[2]]], `base a: only b is pulled (${indices.join(',')})`);
    t.throws(() => resolvePullRange(disk, { base: `vda[${indices[3]}]` }), InvalidCommitRangeError, 'the active layer cannot be the base');
    t.throws(
      () => resolvePullRange(disk, { base: `vda[${indices[2]}]` }),
      InvalidCommitRangeError,
      'a base right below the active layer leaves nothing to pull',
    );
  }
});
