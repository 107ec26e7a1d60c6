// disksFromQueries on the query-block / query-named-block-nodes replies a real QEMU gave (recorded),
// for each QEMU version the fixtures were recorded on: the seed chain, base first, with its files.
// Then the same replies with an export added, or with the nodes a pivot leaves behind.
import path from 'node:path';
import t from 'tap';
import { disksFromQueries, findDisk, hasUser } from '../../src/block/index.js';
import type { BlockDeviceInfo, BlockExportInfo, BlockInfo } from '../../src/qapi/types.js';
import { fixtureFile, fixtureSets, recordedReturns } from './helpers/recorded.js';

for (const set of fixtureSets()) {
  const file = fixtureFile(set, 'controller-active-pivot.jsonl');
  if (!file) continue;
  const [blocks] = recordedReturns(file, 'query-block') as BlockInfo[][];
  const [nodes] = recordedReturns(file, 'query-named-block-nodes') as BlockDeviceInfo[][];

  t.test(`${set.name}: the recorded -drive chain resolves base first`, async (t) => {
    const disks = disksFromQueries(blocks ?? [], nodes ?? []);
    t.equal(disks.length, 1, 'one disk');
    const disk = disks[0]!;
    t.same(
      disk.layers.map((l) => path.basename(l.file)),
      ['base.raw', 'a.qcow2', 'b.qcow2', 'c.qcow2'],
      'the seed chain, base first',
    );
    t.same(
      disk.layers.map((l) => l.index),
      [1, 2, 3, 4],
      'indices are positions over a socket',
    );
    t.same(
      disk.layers.map((l) => l.format),
      ['raw', 'qcow2', 'qcow2', 'qcow2'],
      'formats',
    );
    t.ok(hasUser(disk), 'a -drive is a user');
    t.equal(findDisk(disks, disk.layers[3]!.file), disk, 'the disk is found by its source path');
  });

  t.test(`${set.name}: a bare chain with an export is a disk with a user, named by the export`, async (t) => {
    const bare = (nodes ?? []).map((n) => ({ ...n }));
    const active = disksFromQueries(blocks ?? [], nodes ?? [])[0]!.layers[3]!.nodeName;
    const exports: BlockExportInfo[] = [{ id: 'exp0', type: 'nbd', 'node-name': active, 'shutting-down': false }];
    const disks = disksFromQueries([], bare, undefined, exports);
    t.equal(disks.length, 1, 'one disk');
    t.same(disks[0]!.exports, ['exp0'], 'named by its export');
    t.ok(hasUser(disks[0]!), 'an export is a user: a pivot would move it');
    t.equal(findDisk(disks, 'exp0'), disks[0], 'found by the export id');
  });

  t.test(`${set.name}: after a pivot the nodes left behind are no disk`, async (t) => {
    const disk = disksFromQueries(blocks ?? [], nodes ?? [])[0]!;
    const base = disk.layers[0]!;
    // What QEMU shows after the pivot: the drive's root is base; the old top still backs onto b ← a ← base.
    const pivoted = (blocks ?? []).map((b) => ({
      ...b,
      inserted: b.inserted && {
        ...b.inserted,
        'node-name': base.nodeName,
        file: base.file,
        image: (nodes ?? []).find((n) => n['node-name'] === base.nodeName)!.image,
      },
    }));
    const disks = disksFromQueries(pivoted, nodes ?? []);
    t.same(
      disks.map((d) => d.layers.map((l) => path.basename(l.file))),
      [['base.raw']],
      "only the guest's disk, on base",
    );
  });
}
