import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { createImage, qemuIo } from '../../src/transport/qemu-img.js';
import { buildSeedChain, type Layer } from './chain.js';
import { extraMonitorArgs } from './cli.js';
import { startQemu, tempDir, type StartedQemu } from './qemu.js';

/** -blockdev args for `layers` with node names `<prefix><i>`; blkdebug under the base failing its first write when asked. */
function chainArgs(layers: readonly Layer[], prefix: string, failFirstBaseWrite: boolean): string[] {
  return layers.flatMap((layer, i) => {
    const file = { driver: 'file', filename: layer.file };
    const image = i === 0 && failFirstBaseWrite ? { driver: 'blkdebug', 'inject-error': [{ event: 'write_aio', errno: 5, once: true }], image: file } : file;
    const format: Record<string, unknown> = { driver: layer.format, 'node-name': `${prefix}${i + 1}`, file: image };
    if (layer.format === 'qcow2') format.backing = i === 0 ? null : `${prefix}${i}`;
    return ['-blockdev', JSON.stringify(format)];
  });
}

/**
 * A pc guest with two virtio disks, vda (nodes p1…p4) and vdb (q1…q4), each on the seed chain, and a
 * second monitor for the CLI. `vdbFailsBaseWrite`: the first write into vdb's base fails (EIO).
 * `vdbExtraMiB`: vdb's top also holds that many more MiB (from 12 MiB on), so its commit takes longer.
 */
export async function startGroupGuest(
  t: Test,
  options: { vdbFailsBaseWrite?: boolean; vdbExtraMiB?: number } = {},
): Promise<StartedQemu & { cli: string; vda: Layer[]; vdb: Layer[] }> {
  const dir = tempDir(t);
  mkdirSync(path.join(dir, 'a'));
  mkdirSync(path.join(dir, 'b'));
  const vda = await buildSeedChain(path.join(dir, 'a'));
  let vdb: Layer[];
  const extra = options.vdbExtraMiB ?? 0;
  if (extra) {
    // The same chain on a bigger disk: base 12 + extra MiB, the top also holding [12, 12 + extra) MiB.
    vdb = [];
    const names = ['base.raw', 'a.qcow2', 'b.qcow2', 'c.qcow2'];
    const seed = await buildSeedChain(
      path.join(dir, 'b'),
      names.map((n) => `seed-${n}`),
    );
    for (const [i, name] of names.entries()) {
      const file = path.join(dir, 'b', name);
      const layer = seed[i]!;
      const below = vdb[i - 1];
      await createImage(file, below ? { format: layer.format, backing: below.file, backingFormat: below.format } : { format: 'raw', size: `${12 + extra}M` });
      const writes: Array<[number, number, number]> = [...layer.writes, ...(i === names.length - 1 ? [[12, extra, 0x45] as [number, number, number]] : [])];
      await qemuIo(
        file,
        writes.map(([off, len, pat]) => `write -P ${pat} ${off}M ${len}M`),
        { format: layer.format },
      );
      vdb.push({ file, format: layer.format, writes });
    }
  } else {
    vdb = await buildSeedChain(path.join(dir, 'b'));
  }
  const cli = path.join(dir, 'cli.sock');
  const started = await startQemu(t, {
    dir,
    machine: 'pc',
    args: [
      '-accel',
      'tcg',
      '-m',
      '64',
      ...chainArgs(vda, 'p', false),
      '-device',
      'virtio-blk-pci,id=vda,drive=p4',
      ...chainArgs(vdb, 'q', options.vdbFailsBaseWrite ?? false),
      '-device',
      'virtio-blk-pci,id=vdb,drive=q4',
      ...extraMonitorArgs(cli),
    ],
  });
  return { ...started, cli, vda, vdb };
}
