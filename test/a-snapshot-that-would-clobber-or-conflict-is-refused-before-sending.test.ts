// Snapshot requests that would overwrite a file, reuse an open image, name a disk twice, or cannot
// work are refused with a typed error, and no transaction is sent.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import {
  ConflictingArgumentsError,
  DiskNotFoundError,
  InvalidSnapshotSpecError,
  SnapshotTargetExistsError,
  createSnapshots,
  listDisks,
  type SnapshotSpec,
} from '../src/block/index.js';
import { startTwoDiskGuest } from './helpers/two-disks.js';

t.test('refusals', async (t) => {
  const sent: string[] = [];
  const { client, dir, vda, vdb } = await startTwoDiskGuest(t, {
    traffic: (direction, message) => {
      const command = (message as { execute?: unknown }).execute;
      if (direction === 'out' && typeof command === 'string') sent.push(command);
    },
  });
  const before = await listDisks(client);
  const existing = path.join(dir, 'precious.qcow2');
  writeFileSync(existing, 'do not overwrite');
  const fresh = path.join(dir, 'fresh.qcow2');

  const cases: Array<[string, SnapshotSpec[], new (...args: never[]) => Error, RegExp]> = [
    ['existing file', [{ disk: 'vda', file: existing }], SnapshotTargetExistsError, /target '.*precious\.qcow2' already exists; QEMU would overwrite it/],
    [
      'existing file as second spec',
      [
        { disk: 'vda', file: fresh },
        { disk: 'vdb', file: existing },
      ],
      SnapshotTargetExistsError,
      /snapshot of disk 'vdb' refused: target '.*precious\.qcow2' already exists/,
    ],
    ['an image of another disk', [{ disk: 'vda', file: vdb[1]!.file }], SnapshotTargetExistsError, /is already an image of disk 'vdb'/],
    [
      'same disk twice',
      [
        { disk: 'vda', file: fresh },
        { disk: 'drive0', file: path.join(dir, 'other.qcow2') },
      ],
      ConflictingArgumentsError,
      /disk 'vda' is named twice \('vda' and 'drive0'\)/,
    ],
    [
      'same file twice',
      [
        { disk: 'vda', file: fresh },
        { disk: 'vdb', file: fresh },
      ],
      ConflictingArgumentsError,
      /disks 'vda' and 'vdb' both target '.*fresh\.qcow2'/,
    ],
    ['relative path', [{ disk: 'vda', file: 'snap.qcow2' }], InvalidSnapshotSpecError, /must be an absolute path/],
    ['bad node name', [{ disk: 'vda', file: fresh, nodeName: '1bad' }], InvalidSnapshotSpecError, /node name '1bad' must start with a letter/],
    ['node name in use', [{ disk: 'vda', file: fresh, nodeName: 'm2' }], ConflictingArgumentsError, /node name 'm2' is already in use/],
    ['unknown disk', [{ disk: 'vdz', file: fresh }], DiskNotFoundError, /disk 'vdz' not found; known disks: 'vda', 'vdb'/],
    ['nothing asked', [], InvalidSnapshotSpecError, /no snapshot requested/],
  ];
  for (const [name, specs, type, message] of cases) {
    const error = await createSnapshots(client, specs).catch((e: unknown) => e);
    t.ok(error instanceof type, `${name}: refused with ${type.name}, got ${String(error)}`);
    t.match((error as Error).message, message, `${name}: the message says why`);
  }
  t.notOk(sent.includes('transaction'), 'no transaction was ever sent');
  t.equal(readFileSync(existing, 'utf8'), 'do not overwrite', 'the existing file is untouched');
  t.same(await listDisks(client), before, 'no chain changed');
  t.ok(vda.length === 4, 'precondition: vda had four images');
});
