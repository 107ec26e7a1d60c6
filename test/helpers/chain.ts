import path from 'node:path';
import { createImage, qemuIo } from '../../src/transport/qemu-img.js';

/** One image of a test chain and the bytes it holds on its own (Eric Blake's diagram, in MiB). */
export interface Layer {
  file: string;
  format: 'raw' | 'qcow2';
  /** [offset MiB, length MiB, byte pattern] written into this layer alone. */
  writes: Array<[number, number, number]>;
}

/**
 * base.raw <- a.qcow2 <- b.qcow2 <- c.qcow2, each with its own data, as in the seed:
 *   base: AAAA--------   a: --BBBB------   b: -----CCCC---   c: D-------DD--
 * (1 MiB per character, 12 MiB disk). Returns the layers, base first.
 */
export async function buildSeedChain(dir: string, names = ['base.raw', 'a.qcow2', 'b.qcow2', 'c.qcow2']): Promise<Layer[]> {
  const plan: Array<Array<[number, number, number]>> = [
    [[0, 4, 0x41]],
    [[2, 4, 0x42]],
    [[5, 4, 0x43]],
    [
      [0, 1, 0x44],
      [8, 2, 0x44],
    ],
  ];
  const layers: Layer[] = [];
  for (const [i, name] of names.entries()) {
    const file = path.join(dir, name);
    const format = name.endsWith('.raw') ? 'raw' : 'qcow2';
    const below = layers[i - 1];
    await createImage(file, below ? { format, backing: below.file, backingFormat: below.format } : { format, size: '12M' });
    const writes = plan[i] ?? [];
    if (writes.length)
      await qemuIo(
        file,
        writes.map(([off, len, pat]) => `write -P ${pat} ${off}M ${len}M`),
        { format },
      );
    layers.push({ file, format, writes });
  }
  return layers;
}

/**
 * What the guest sees through the top of `layers`: for each MiB the pattern of the highest layer
 * that wrote it, or 0 (a hole all the way down reads as zeros).
 */
export function expectedView(layers: readonly Layer[], sizeMiB = 12): number[] {
  const view = new Array<number>(sizeMiB).fill(0);
  for (const layer of layers) {
    for (const [off, len, pat] of layer.writes) for (let m = off; m < off + len; m++) view[m] = pat;
  }
  return view;
}

/** qemu-io read commands that check every MiB of `view`. */
export function readChecks(view: readonly number[]): string[] {
  return view.map((pat, mib) => `read -P ${pat} ${mib}M 1M`);
}

/** -blockdev arguments opening `layers` as one chain with node names `<prefix>-<i>` (1 = base). */
export function blockdevChainArgs(layers: readonly Layer[], prefix = 'n'): string[] {
  const args: string[] = [];
  layers.forEach((layer, i) => {
    const index = i + 1;
    args.push('-blockdev', JSON.stringify({ driver: 'file', filename: layer.file, 'node-name': `${prefix}${index}-file` }));
    const format: Record<string, unknown> = { driver: layer.format, file: `${prefix}${index}-file`, 'node-name': `${prefix}${index}` };
    if (layer.format === 'qcow2') format.backing = i === 0 ? null : `${prefix}${i}`;
    args.push('-blockdev', JSON.stringify(format));
  });
  return args;
}

/**
 * base.raw <- a.qcow2 <- b.qcow2 <- c.qcow2 in one folder with RELATIVE backing strings (as
 * `qemu-img create -b a.qcow2` writes them), each layer holding one run: A at 0-4, B at 2-6, C at
 * 5-9, D at 8-10 MiB. Returns the layers, base first.
 */
export async function buildRelativeChain(dir: string): Promise<Layer[]> {
  const names = ['base.raw', 'a.qcow2', 'b.qcow2', 'c.qcow2'];
  const writes: Array<[number, number, number]> = [
    [0, 4, 0x41],
    [2, 4, 0x42],
    [5, 4, 0x43],
    [8, 2, 0x44],
  ];
  const layers: Layer[] = [];
  for (const [i, name] of names.entries()) {
    const file = path.join(dir, name);
    const format = i === 0 ? 'raw' : 'qcow2';
    await createImage(file, i === 0 ? { format, size: '12M' } : { format, backing: names[i - 1] as string, backingFormat: i === 1 ? 'raw' : 'qcow2' });
    const [off, len, pat] = writes[i] as [number, number, number];
    await qemuIo(file, [`write -P ${pat} ${off}M ${len}M`], { format });
    layers.push({ file, format, writes: [[off, len, pat]] });
  }
  return layers;
}
