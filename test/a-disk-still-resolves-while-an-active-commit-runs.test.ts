// An active block-commit inserts a mirror_top filter node above the active layer (and an
// intermediate one a commit_top filter above its top). The disk must still resolve to the same
// chain while the job runs, on a bare -blockdev chain and on a -drive.
import t from 'tap';
import { resolveDisk, type DiskChain } from '../src/block/index.js';
import { blockdevChainArgs, buildSeedChain } from './helpers/chain.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import type { QmpClient } from '../src/internal.js';

async function filterDrivers(client: QmpClient): Promise<string[]> {
  const nodes = await client.execute('query-named-block-nodes', { flat: true });
  return nodes.map((n) => n.drv).filter((d) => d.endsWith('_top'));
}

async function cancelAndWait(client: QmpClient, job: string): Promise<void> {
  const cursor = client.eventCursor();
  await client.execute('block-job-cancel', { device: job, force: true });
  await client.waitForEvent('JOB_STATUS_CHANGE', { id: job, status: 'null' }, { since: cursor, timeoutMs: 10_000 });
}

function shape(disk: DiskChain): Array<[number, string, string]> {
  return disk.layers.map((l) => [l.index, l.nodeName, l.file]);
}

t.test('bare -blockdev chain during an active commit', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: blockdevChainArgs(layers) });
  const before = await resolveDisk(client, 'n4');
  // 1 byte/s: the job cannot finish while we look.
  await client.execute('block-commit', { 'job-id': 'j1', device: 'n4', speed: 1 });
  t.same(await filterDrivers(client), ['mirror_top'], 'precondition: the job put a mirror_top filter in the graph');
  const during = await resolveDisk(client, 'n4');
  t.same(shape(during), shape(before), 'same four layers while the job runs');
  await cancelAndWait(client, 'j1');
  t.same(shape(await resolveDisk(client, 'n4')), shape(before), 'same four layers after the cancel');
});

t.test('-drive chain during an active and during an intermediate commit', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`] });
  const before = await resolveDisk(client, 'drive0');

  await client.execute('block-commit', { 'job-id': 'j1', device: 'drive0', speed: 1 });
  t.same(await filterDrivers(client), ['mirror_top'], 'precondition: mirror_top above the active layer');
  t.same(shape(await resolveDisk(client, 'drive0')), shape(before), 'same chain during the active commit');
  await cancelAndWait(client, 'j1');

  await client.execute('block-commit', {
    'job-id': 'j2',
    device: 'drive0',
    'top-node': before.layers[2]!.nodeName,
    'base-node': before.layers[0]!.nodeName,
    speed: 1,
  });
  t.same(await filterDrivers(client), ['commit_top'], 'precondition: commit_top above the intermediate top');
  t.same(shape(await resolveDisk(client, 'drive0')), shape(before), 'same chain during the intermediate commit');
  await cancelAndWait(client, 'j2');
});
