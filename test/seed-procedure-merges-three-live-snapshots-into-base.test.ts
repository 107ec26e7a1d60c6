// The seed procedure end to end, on a guest with a virtio disk: base only, three live snapshots
// (blockdev-snapshot-sync) with distinct data written by the guest's disk between them, then active
// commit + pivot: every byte of base is what the guest saw, and the chain is just base.
import path from 'node:path';
import t from 'tap';
import type { ChainLayer, CommitRange } from '../src/block/types.js';
import { CommitJob } from '../src/jobs/index.js';
import { createImage, qemuIo } from '../src/transport/qemu-img.js';
import { expectedView, readChecks, type Layer } from './helpers/chain.js';
import { withoutBlips } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';

const MiB = 1024 * 1024;
const QDEV = '/machine/peripheral/vd0/virtio-backend';

t.test('seed procedure: three snapshots, active commit, pivot', async (t) => {
  const dir = tempDir(t);
  const baseFile = path.join(dir, 'base.raw');
  await createImage(baseFile, { format: 'raw', size: '12M' });
  await qemuIo(baseFile, ['write -P 0x41 0 4M'], { format: 'raw' });
  const { client } = await startQemu(t, {
    dir,
    machine: 'pc',
    args: [
      '-accel',
      'tcg',
      '-blockdev',
      JSON.stringify({ driver: 'file', filename: baseFile, 'node-name': 'base-file' }),
      '-blockdev',
      JSON.stringify({ driver: 'raw', file: 'base-file', 'node-name': 'base' }),
      '-device',
      'virtio-blk-pci,id=vd0,drive=base',
    ],
  });
  const guestWrite = async (pattern: number, offMiB: number, lenMiB: number): Promise<void> => {
    const out = await client.execute('human-monitor-command', { 'command-line': `qemu-io -d ${QDEV} "write -P ${pattern} ${offMiB}M ${lenMiB}M"` });
    t.notMatch(out, /Error|error/, `guest write should succeed: ${out}`);
  };

  // The seed's diagram: base AAAA----, sn1 --BBBB--, sn2 -----CCCC, cur D-------DD.
  const plan: Array<[string, Array<[number, number, number]>]> = [
    ['sn1', [[2, 4, 0x42]]],
    ['sn2', [[5, 4, 0x43]]],
    [
      'cur',
      [
        [0, 1, 0x44],
        [8, 2, 0x44],
      ],
    ],
  ];
  const layers: Layer[] = [{ file: baseFile, format: 'raw', writes: [[0, 4, 0x41]] }];
  let active = 'base';
  for (const [name, writes] of plan) {
    const file = path.join(dir, `${name}.qcow2`);
    await client.execute('blockdev-snapshot-sync', { 'node-name': active, 'snapshot-file': file, 'snapshot-node-name': name, format: 'qcow2' });
    active = name;
    for (const [off, len, pat] of writes) await guestWrite(pat, off, len);
    layers.push({ file, format: 'qcow2', writes });
  }
  const before = (await client.execute('query-block')).find((b) => b.qdev === QDEV);
  t.equal(before?.inserted?.file, layers[3]!.file, 'the guest should run on cur.qcow2 before the commit');
  t.equal(before?.inserted?.backing_file_depth, 3, 'the chain should be base <- sn1 <- sn2 <- cur');

  const names = ['base', 'sn1', 'sn2', 'cur'];
  const chain: ChainLayer[] = layers.map((l, i) => ({
    index: i + 1,
    nodeName: names[i] as string,
    file: l.file,
    format: l.format,
    ...(i > 0 ? { backingFile: layers[i - 1]!.file } : {}),
    virtualSize: 12 * MiB,
  }));
  const range: CommitRange = { disk: { device: 'cur', qdevId: 'vd0', qdevPath: QDEV, layers: chain }, top: chain[3]!, base: chain[0]!, active: true };
  const job = await CommitJob.start(client, range);
  await job.waitUntilReady({ timeoutMs: 60_000 });
  const result = await job.pivot({ timeoutMs: 60_000 });

  // A running machine drains the disk now and then: READY may blip to standby and back.
  t.same(
    withoutBlips(result.history),
    ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'],
    `whole state sequence, drains collapsed (seen: ${result.states.join(',')})`,
  );
  t.equal(result.outcome, 'pivoted', 'outcome should be pivoted');
  const after = (await client.execute('query-block')).find((b) => b.qdev === QDEV);
  t.equal(after?.inserted?.file, baseFile, 'the guest should now run on base');
  t.equal(after?.inserted?.backing_file_depth, 0, 'the chain should be just base');
  const view = expectedView(layers);
  t.same(view.map((p) => String.fromCharCode(p || 0x2d)).join(''), 'DABBBCCCDD--', 'the guest view of the seed diagram');
  await qemuIo(baseFile, readChecks(view), { format: 'raw', forceShare: true });
  t.pass('every byte of base equals what the guest saw before the commit');
  t.same(
    result.invalidated?.files,
    layers.slice(1).map((l) => l.file),
    'sn1, sn2 and cur are invalid after the pivot (Eric Blake)',
  );
});
