/*
 * Naming an image of a disk's chain the ways virsh and QEMU users do, and turning top/base into a
 * CommitRange. Everything here is checked against the chain we read, before anything is sent, so a
 * mistake gets a typed error that says what was wrong instead of QEMU's terser one (or, for some
 * mistakes, instead of QEMU silently doing something else).
 */
import path from 'node:path';
import { diskLabel, diskNames } from './chain.js';
import { ConflictingArgumentsError, ImageNotInChainError, InvalidCommitRangeError } from './errors.js';
import type { ChainLayer, CommitRange, DiskChain } from './types.js';

const INDEXED = /^(.*)\[(\d+)\]$/;

function describeLayers(disk: DiskChain): string {
  return disk.layers.map((l) => `[${l.index}] ${l.file} (${l.nodeName})`).join(', ');
}

type Match = { layer: ChainLayer } | { miss: string };

function matchIn(disk: DiskChain, spec: string, kind: 'any' | 'node'): Match {
  const byNode = disk.layers.find((l) => l.nodeName === spec);
  if (byNode || kind === 'node') return byNode ? { layer: byNode } : { miss: 'no layer has that node name' };

  const byFile = disk.layers.find((l) => l.file === spec || (path.isAbsolute(spec) && path.normalize(spec) === l.file));
  if (byFile) return { layer: byFile };

  // As written in the overlay's header (e.g. a relative "a.qcow2"): the layer below that overlay.
  const writtenAt = disk.layers.findIndex((l) => l.backingFile === spec);
  if (writtenAt > 0) return { layer: disk.layers[writtenAt - 1] as ChainLayer };

  const indexed = INDEXED.exec(spec);
  if (indexed) {
    const [, device = '', digits = ''] = indexed;
    if (!diskNames(disk).includes(device)) return { miss: `'${device}' is not this disk (this is '${diskLabel(disk)}')` };
    const index = Number(digits);
    const layer = disk.layers.find((l) => l.index === index);
    const indices = disk.layers.map((l) => l.index).join(', ');
    return layer ? { layer } : { miss: `no image with index ${index} (indices are ${indices})` };
  }

  if (!spec.includes('/')) {
    const byBase = disk.layers.filter((l) => path.basename(l.file) === spec);
    if (byBase.length === 1) return { layer: byBase[0] as ChainLayer };
    if (byBase.length > 1) return { miss: `the base name matches ${byBase.length} images; give the full path` };
  }
  return { miss: 'no image has that file name, node name or index' };
}

/**
 * The layer of `disk` named by `spec`: a node name, a file name (absolute, as written in the chain's
 * backing strings, or a base name if only one image has it), or `dev[N]` with N a layer index
 * (matched on ChainLayer.index, which a transport may have remapped, not on position).
 * `otherDisks` lets the error say which disk an image really belongs to.
 */
export function resolveLayer(disk: DiskChain, spec: string, otherDisks: readonly DiskChain[] = [], kind: 'any' | 'node' = 'any'): ChainLayer {
  const match = matchIn(disk, spec, kind);
  if ('layer' in match) return match.layer;
  for (const other of otherDisks) {
    if (other === disk || other.device === disk.device) continue;
    const elsewhere = matchIn(other, spec, kind);
    if ('layer' in elsewhere) {
      throw new ImageNotInChainError(spec, diskLabel(disk), `it is image [${elsewhere.layer.index}] of disk '${diskLabel(other)}'`, diskLabel(other));
    }
  }
  throw new ImageNotInChainError(spec, diskLabel(disk), `${match.miss}; the chain is ${describeLayers(disk)}`);
}

export interface CommitRangeSpec {
  /** The image to merge down from: file name, node name or dev[N]. Default: the active layer. */
  top?: string;
  /** The image to merge into. Default: the bottom image. */
  base?: string;
  /** Like `top`, but only a node name. Exclusive with `top`. */
  topNode?: string;
  /** Like `base`, but only a node name. Exclusive with `base`. */
  baseNode?: string;
}

/**
 * Resolves top and base against the disk's chain with QEMU's and virsh's defaults
 * (top = active layer, base = bottom image), refusing every range QEMU would refuse.
 */
export function resolveCommitRange(disk: DiskChain, spec: CommitRangeSpec, otherDisks: readonly DiskChain[] = []): CommitRange {
  const label = diskLabel(disk);
  for (const [byName, byNode] of [['top', 'topNode'], ['base', 'baseNode']] as const) {
    if (spec[byName] !== undefined && spec[byNode] !== undefined) {
      throw new ConflictingArgumentsError([byName, byNode], `'${byName}' (${spec[byName]}) and '${byNode}' (${spec[byNode]}) are mutually exclusive: name the ${byName} image once`, label);
    }
  }
  const active = disk.layers[disk.layers.length - 1];
  const bottom = disk.layers[0];
  if (!active || !bottom) throw new ImageNotInChainError(spec.top ?? spec.topNode ?? 'active layer', label, 'the disk has no images');

  const top = spec.top !== undefined ? resolveLayer(disk, spec.top, otherDisks)
    : spec.topNode !== undefined ? resolveLayer(disk, spec.topNode, otherDisks, 'node')
      : active;
  const base = spec.base !== undefined ? resolveLayer(disk, spec.base, otherDisks)
    : spec.baseNode !== undefined ? resolveLayer(disk, spec.baseNode, otherDisks, 'node')
      : bottom;

  if (top === base) {
    const why = spec.top === undefined && spec.topNode === undefined && spec.base === undefined && spec.baseNode === undefined
      ? 'the chain has a single image, there is nothing to commit'
      : 'cannot commit an image into itself';
    throw new InvalidCommitRangeError(label, 'same-image', `top and base are both [${top.index}] ${top.file}: ${why}`);
  }
  // By position, not index: a transport may renumber indices (libvirt's keep growing).
  if (disk.layers.indexOf(base) > disk.layers.indexOf(top)) {
    throw new InvalidCommitRangeError(label, 'base-above-top',
      `base [${base.index}] ${base.file} is above top [${top.index}] ${top.file}; base must be below top (did you swap them?)`);
  }
  return { disk, top, base, active: top === active };
}
