// libvirt opens a plain raw image without a format node: the base of the chain is then a protocol
// node (driver "file"). A commit into it rewrites the overlay above top to point at that base; QEMU
// records the base's driver as the backing format unless `backing-mask-protocol` (QEMU 9.0+) says
// "raw". The controller passes it exactly when the schema has it (src/protocol/capabilities.ts).
import t from 'tap';
import { resolveCommitRange } from '../src/block/address.js';
import { resolveDisk } from '../src/block/chain.js';
import { CommitJob } from '../src/jobs/index.js';
import { commandHasArgument, isProtocolDriver } from '../src/protocol/capabilities.js';
import { compareImages, imageChain } from '../src/transport/qemu-img.js';
import { buildSeedChain } from './helpers/chain.js';
import { flatCopy } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test('intermediate commit of b into a raw base opened as a bare file node', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const [base, a, b, c] = layers.map((l) => l.file) as [string, string, string, string];
  const flat = await flatCopy(dir, layers);
  // n1 is the file node itself (no raw format node above it), as libvirt opens a plain raw image.
  const args = ['-blockdev', JSON.stringify({ driver: 'file', filename: base, 'node-name': 'n1' })];
  [a, b, c].forEach((file, i) => {
    const n = i + 2;
    args.push('-blockdev', JSON.stringify({ driver: 'file', filename: file, 'node-name': `n${n}-file` }));
    args.push('-blockdev', JSON.stringify({ driver: 'qcow2', file: `n${n}-file`, backing: `n${n - 1}`, 'node-name': `n${n}` }));
  });
  const { client, qemu } = await startQemu(t, { dir, args });
  const disk = await resolveDisk(client, 'n4');
  const range = resolveCommitRange(disk, { topNode: 'n3', baseNode: 'n1' });
  t.equal(range.base.format, 'file', 'the base layer is the file node');
  t.ok(isProtocolDriver(range.base.format), '"file" counts as a protocol driver');
  const masks = await commandHasArgument(client, 'block-commit', 'backing-mask-protocol');
  const major = client.greeting.QMP.version.qemu.major;
  t.equal(masks, major >= 9, `QEMU ${major}'s schema ${masks ? 'has' : 'lacks'} block-commit backing-mask-protocol`);

  const job = await CommitJob.start(client, range, { jobId: 'protocol-base' });
  const result = await job.wait({ timeoutMs: 30_000 });
  t.equal(result.outcome, 'completed', 'the commit completes');
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;

  const [top, below] = await imageChain(c);
  t.equal(below?.filename, base, 'c.qcow2 now backs onto base.raw');
  // Measured: 7.2 records the protocol driver ("file"); with backing-mask-protocol QEMU records "raw".
  t.equal(top?.['backing-filename-format'], masks ? 'raw' : 'file', `the backing format recorded in c.qcow2 (QEMU ${major})`);
  t.ok(await compareImages(c, flat), 'the guest view through c is unchanged');
});
