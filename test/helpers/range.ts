/*
 * CommitRange objects for test chains, built from what the test knows about the chain it made
 * (to be swapped for the block layer's resolver). Node names come from blockdevChainArgs (n1 base …
 * n4 active) or, for -drive chains, from query-named-block-nodes matched by file.
 */
import type { ChainLayer, CommitRange, DiskChain } from '../../src/block/types.js';
import type { QmpClient } from '../../src/protocol/client.js';
import type { Layer } from './chain.js';

const MiB = 1024 * 1024;

function chainLayers(layers: readonly Layer[], nodeName: (i: number) => string, sizeMiB: number): ChainLayer[] {
  return layers.map((layer, i) => ({
    index: i + 1,
    nodeName: nodeName(i),
    file: layer.file,
    format: layer.format,
    ...(i > 0 ? { backingFile: (layers[i - 1] as Layer).file } : {}),
    virtualSize: sizeMiB * MiB,
  }));
}

/** The range top..base (1-based chain indices) of `disk`. */
export function rangeOf(disk: DiskChain, top: number, base: number): CommitRange {
  const topLayer = disk.layers[top - 1];
  const baseLayer = disk.layers[base - 1];
  if (!topLayer || !baseLayer) throw new RangeError(`no layers ${top}/${base} in a chain of ${disk.layers.length}`);
  return { disk, top: topLayer, base: baseLayer, active: top === disk.layers.length };
}

/** A -blockdev chain opened by blockdevChainArgs(layers, prefix), attached to no device. */
export function blockdevDisk(layers: readonly Layer[], prefix = 'n', sizeMiB = 12): DiskChain {
  return { device: `${prefix}${layers.length}`, layers: chainLayers(layers, (i) => `${prefix}${i + 1}`, sizeMiB) };
}

export function blockdevRange(layers: readonly Layer[], top: number, base: number, prefix = 'n'): CommitRange {
  return rangeOf(blockdevDisk(layers, prefix), top, base);
}

/** A chain opened with -drive id=<driveId>, its auto node names looked up by file. */
export async function driveDisk(client: QmpClient, layers: readonly Layer[], driveId: string, sizeMiB = 12): Promise<DiskChain> {
  const nodes = await client.execute('query-named-block-nodes', { flat: true });
  const names = layers.map((layer) => {
    const node = nodes.find((n) => n.file === layer.file && n.drv === layer.format && n['node-name']);
    if (!node?.['node-name']) throw new Error(`no format node for ${layer.file}`);
    return node['node-name'];
  });
  return { device: driveId, driveId, layers: chainLayers(layers, (i) => names[i] as string, sizeMiB) };
}

/** The chain of layers as one string per node, for checks: file <- file (from query-named-block-nodes). */
export async function backingOf(client: QmpClient, nodeName: string): Promise<string | undefined> {
  const nodes = await client.execute('query-named-block-nodes', { flat: true });
  const node = nodes.find((n) => n['node-name'] === nodeName);
  if (!node) throw new Error(`no node ${nodeName}`);
  return node.backing_file;
}
