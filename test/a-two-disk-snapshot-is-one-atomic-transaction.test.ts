// Two disks (one on -drive, one on -blockdev) get their overlays in ONE transaction command, and
// the guest sees the same data on both afterwards.
import path from 'node:path';
import t from 'tap';
import { createSnapshots, listDisks } from '../src/block/index.js';
import { expectedView, readChecks } from './helpers/chain.js';
import { readChecksPass } from './helpers/block.js';
import { startTwoDiskGuest } from './helpers/two-disks.js';

t.test('vda and vdb snapshotted atomically', async (t) => {
  const sent: string[] = [];
  const { client, dir, vda, vdb } = await startTwoDiskGuest(t, {
    traffic: (direction, message) => {
      const command = (message as { execute?: unknown }).execute;
      if (direction === 'out' && typeof command === 'string') sent.push(command);
    },
  });
  const before = await listDisks(client);

  const files = [path.join(dir, 'vda-snap.qcow2'), path.join(dir, 'vdb-snap.qcow2')];
  const chains = await createSnapshots(client, [
    { disk: 'vda', file: files[0]! },
    { disk: 'vdb', file: files[1]!, nodeName: 'vdb-snap' },
  ]);

  t.same(
    sent.filter((c) => c === 'transaction'),
    ['transaction'],
    'exactly one transaction for both disks',
  );
  t.notOk(sent.includes('blockdev-snapshot-sync'), 'no snapshot sent outside the transaction');
  t.same(
    chains.map((c) => c.qdevId),
    ['vda', 'vdb'],
    'chains returned in the order asked',
  );
  for (const [i, chain] of chains.entries()) {
    const old = before[i]!;
    t.equal(chain.layers.length, 5, `${chain.qdevId}: one more image`);
    t.same(chain.layers.slice(0, 4), old.layers, `${chain.qdevId}: the old images are unchanged below the overlay`);
    const overlay = chain.layers[4]!;
    t.equal(overlay.file, files[i], `${chain.qdevId}: the new active layer is the requested file`);
    t.equal(overlay.format, 'qcow2', `${chain.qdevId}: the overlay is qcow2`);
    t.equal(overlay.virtualSize, old.layers[3]!.virtualSize, `${chain.qdevId}: same size as the disk`);
    t.equal(overlay.backingFile, old.layers[3]!.file, `${chain.qdevId}: the overlay records the old active layer`);
  }
  t.equal(chains[1]!.layers[4]!.nodeName, 'vdb-snap', 'the requested node name is used');
  t.match(chains[0]!.layers[4]!.nodeName, /^snap-[0-9a-f]{8}$/, 'a node name is generated when none is asked');
  t.equal(chains[1]!.device, 'vdb-snap', 'vdb (on -blockdev) is now addressed by its new active node');
  t.equal(chains[0]!.device, 'drive0', 'vda (on -drive) keeps its drive id');

  await t.resolves(readChecksPass(files[0]!, readChecks(expectedView(vda))), 'vda reads the same through its new overlay');
  await t.resolves(readChecksPass(files[1]!, readChecks(expectedView(vdb))), 'vdb reads the same through its new overlay');
});
