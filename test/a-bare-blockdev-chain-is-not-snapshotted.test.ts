// A -blockdev chain no device uses has no parent to hold a blockdev-snapshot-sync overlay: QEMU
// creates the file and drops the node at once. We refuse that before sending anything.
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { InvalidSnapshotSpecError, createSnapshots, listDisks } from '../src/block/index.js';
import { blockdevChainArgs, buildSeedChain } from './helpers/chain.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('bare chain: refused by us; what QEMU would do', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: blockdevChainArgs(layers) });
  const before = await listDisks(client);
  const target = path.join(dir, 'snap.qcow2');

  const error = await createSnapshots(client, [{ disk: 'n4', file: target }]).catch((e: unknown) => e);
  t.ok(error instanceof InvalidSnapshotSpecError, `refused with InvalidSnapshotSpecError, got ${String(error)}`);
  t.match((error as Error).message, /bare -blockdev chain that no device, drive or export uses/, 'message says why');
  t.notOk(existsSync(target), 'no file was created');

  // The same request sent raw: QEMU says yes, creates the file, and the chain does not change.
  await client.execute('blockdev-snapshot-sync', { 'node-name': 'n4', 'snapshot-file': target, 'snapshot-node-name': 'lost', format: 'qcow2' });
  t.ok(existsSync(target), 'QEMU created the overlay file');
  const nodes = await client.execute('query-named-block-nodes', { flat: true });
  t.notOk(
    nodes.some((n) => n['node-name'] === 'lost'),
    'but the overlay node is gone',
  );
  t.same(await listDisks(client), before, 'and the chain is unchanged');
});
