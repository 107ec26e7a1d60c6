/*
 * libvirt's names for the images of a chain: `vda[N]` means libvirt's `index` (from `virsh dumpxml`,
 * parsed in src/transport/libvirt.ts), laid over the chain QEMU reports. The order stays QEMU's.
 */
import path from 'node:path';
import { LibvirtDiskError, type LibvirtDisk, type LibvirtImage } from '../transport/libvirt.js';
import { unwrapJsonFilename } from './chain.js';
import type { ChainLayer, DiskChain } from './types.js';

/** A path as both sides spell it: json: pseudo-filenames unwrapped, absolute paths normalized. */
export function normalizeImagePath(file: string): string {
  const plain = unwrapJsonFilename(file);
  return plain.startsWith('/') ? path.normalize(plain) : plain;
}

/**
 * Rewrites each layer's `index` to libvirt's, matching images by file name (QEMU's json:{…}
 * pseudo-filenames are unwrapped to their file.filename) and, failing that, by libvirt's node name
 * `libvirt-N-format`. Throws LibvirtDiskError when a layer has no counterpart in libvirt's chain —
 * typically because a commit or pivot done through QMP left libvirt's view stale.
 */
export function applyLibvirtIndices(chain: DiskChain, libvirtChain: readonly LibvirtImage[] | LibvirtDisk): DiskChain {
  const images = 'chain' in libvirtChain ? libvirtChain.chain : libvirtChain;
  const byFile = new Map<string, LibvirtImage>();
  for (const image of images) byFile.set(normalizeImagePath(image.file), image);
  const byIndex = new Map<number, LibvirtImage>();
  for (const image of images) if (image.index !== undefined) byIndex.set(image.index, image);
  const unmatched: string[] = [];
  const layers: ChainLayer[] = chain.layers.map((layer) => {
    const fromFile = byFile.get(normalizeImagePath(layer.file));
    const nodeIndex = /^libvirt-(\d+)-format$/.exec(layer.nodeName)?.[1];
    const fromNode = nodeIndex === undefined ? undefined : byIndex.get(Number(nodeIndex));
    const match = fromFile ?? fromNode;
    if (match?.index === undefined) {
      unmatched.push(`${layer.nodeName} (${unwrapJsonFilename(layer.file)})`);
      return layer;
    }
    return { ...layer, index: match.index };
  });
  if (unmatched.length) {
    throw new LibvirtDiskError(
      `libvirt's chain for ${chain.qdevId ?? chain.device} does not contain ${unmatched.join(', ')} ` +
        `(libvirt has ${images.map((i) => `[${i.index ?? '?'}] ${i.file}`).join(', ') || 'no images'}); ` +
        `libvirt's view is stale after a QMP commit/pivot or the disk does not match`,
    );
  }
  return { ...chain, layers };
}
