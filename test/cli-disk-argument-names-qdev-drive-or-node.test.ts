// The DISK argument works for a virtio device id (-machine pc), a -drive id, and a bare -blockdev node name.
import path from 'node:path';
import t from 'tap';
import { startQemu, tempDir } from './helpers/qemu.js';
import { buildSeedChain, blockdevChainArgs } from './helpers/chain.js';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';

t.test('blocks and chain name each kind of disk', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const pc = await buildSeedChain(dir, ['pbase.raw', 'pa.qcow2', 'pb.qcow2', 'pc.qcow2']);
  const drive = await buildSeedChain(dir, ['dbase.raw', 'da.qcow2', 'db.qcow2', 'dc.qcow2']);
  const bare = await buildSeedChain(dir);
  await startQemu(t, {
    dir,
    machine: 'pc',
    args: [
      '-accel',
      'tcg',
      '-m',
      '64',
      ...blockdevChainArgs(pc, 'p'),
      '-device',
      'virtio-blk-pci,id=vda,drive=p4',
      '-drive',
      `if=none,id=drive0,file=${drive[3]!.file},format=qcow2`,
      ...blockdevChainArgs(bare, 'n'),
      ...extraMonitorArgs(cli),
    ],
  });
  const blocks = jsonLines((await runCli(['blocks', '--json', '--socket', cli])).stdout);
  t.same(blocks.map((b) => b.target).sort(), ['drive0', 'n4', 'vda'], 'blocks should list the virtio disk, the drive and the bare chain');
  for (const [disk, layers] of [
    ['vda', pc],
    ['drive0', drive],
    ['n4', bare],
  ] as const) {
    const result = await runCli(['chain', disk, '--json', '--socket', cli]);
    t.equal(result.code, 0, `chain ${disk} should succeed; stderr: ${result.stderr}`);
    const chain = jsonLines(result.stdout)[0] as { layers: Array<{ index: number; file: string }> };
    t.same(
      chain.layers.map((l) => [l.index, l.file]),
      layers.map((l, i) => [i + 1, l.file]).reverse(),
      `chain ${disk} should list its four images, active first`,
    );
  }
  const unknown = await runCli(['chain', 'vdz', '--socket', cli]);
  t.equal(unknown.code, 1, 'an unknown disk should exit 1');
  t.match(unknown.stderr, /vdz[\s\S]*(vda|drive0|n4)/, 'the error should name the unknown disk and the known ones');
});
