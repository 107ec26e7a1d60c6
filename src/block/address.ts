/*
 * Naming an image of a disk's chain the ways virsh and QEMU users do, and turning top/base into a
 * CommitRange. Everything here is checked against the chain we read, before anything is sent, so a
 * mistake gets a typed error that says what was wrong instead of QEMU's terser one (or, for some
 * mistakes, instead of QEMU silently doing something else).
 */
import path from 'node:path';
import { diskLabel, diskNames } from './chain.js';
import { ConflictingArgumentsError, ImageNotInChainError, InvalidCommitRangeError } from './errors.js';
import type { ChainLayer, CommitRange, DiskChain, PullRange } from './types.js';

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
    if (!diskNames(disk).includes(device) && device !== disk.requestedAs)
      return { miss: `'${device}' is not this disk (this is '${disk.requestedAs ?? diskLabel(disk)}')` };
    // Digits as written: an index too large for a number must not be echoed back rounded.
    if (digits.length > 15) return { miss: `no image with index ${digits} (indices are ${disk.layers.map((l) => l.index).join(', ')})` };
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
 * (matched on ChainLayer.index, which a transport may have renamed, not on position).
 * `otherDisks` lets the error say which disk an image really belongs to.
 */
export function resolveLayer(disk: DiskChain, spec: string, otherDisks: readonly DiskChain[] = [], kind: 'any' | 'node' = 'any'): ChainLayer {
  const match = matchIn(disk, spec, kind);
  if ('layer' in match) return match.layer;
  for (const other of otherDisks) {
    if (other === disk || other.device === disk.device) continue;
    const elsewhere = matchIn(other, spec, kind);
    if ('layer' in elsewhere) {
      throw new ImageNotInChainError(
        spec,
        disk.requestedAs ?? diskLabel(disk),
        `it is image [${elsewhere.layer.index}] of disk '${diskLabel(other)}'`,
        diskLabel(other),
      );
    }
  }
  throw new ImageNotInChainError(spec, disk.requestedAs ?? diskLabel(disk), `${match.miss}; the chain is ${describeLayers(disk)}`);
}

export interface CommitRangeSpec {
  /** The image to merge down from: file name, node name or dev[N]. Default: the active layer. */
  top?: string | undefined;
  /** The image to merge into. Default: the bottom image (or, with `shallow`, the one below top). */
  base?: string | undefined;
  /** Like `top`, but only a node name. Exclusive with `top`. */
  topNode?: string | undefined;
  /** Like `base`, but only a node name. Exclusive with `base`. */
  baseNode?: string | undefined;
  /** Base is the image directly below top (virsh --shallow). Exclusive with `base`/`baseNode`. */
  shallow?: boolean | undefined;
  /**
   * true: an active commit is meant, so top must be the active layer (virsh --active); false: it
   * must not be (committing the active layer then is refused). Undefined: whatever top is.
   */
  active?: boolean | undefined;
}

/** Where `layer` sits in `disk`'s chain (0 = bottom), by node name: a range may come from JSON. -1 if absent. */
export function positionOf(disk: DiskChain, layer: ChainLayer): number {
  return disk.layers.findIndex((l) => l.nodeName === layer.nodeName);
}

/** The layers strictly between `lower` and `upper` in the chain, and those above `upper` — by position. */
export function layersBetween(disk: DiskChain, lower: ChainLayer, upper: ChainLayer): { between: ChainLayer[]; above: ChainLayer[] } {
  const low = positionOf(disk, lower);
  const high = positionOf(disk, upper);
  return { between: disk.layers.slice(low + 1, high), above: disk.layers.slice(high + 1) };
}

/**
 * The checks of a range spec that need no chain (so a CLI can run them before it connects):
 * arguments that exclude each other, and empty names.
 */
export function validateRangeSpec(spec: CommitRangeSpec, disk?: string): void {
  for (const [byName, byNode] of [
    ['top', 'topNode'],
    ['base', 'baseNode'],
  ] as const) {
    if (spec[byName] !== undefined && spec[byNode] !== undefined) {
      throw new ConflictingArgumentsError(
        [byName, byNode],
        `'${byName}' (${spec[byName]}) and '${byNode}' (${spec[byNode]}) are mutually exclusive: name the ${byName} image once`,
        disk,
      );
    }
  }
  if (spec.shallow && (spec.base !== undefined || spec.baseNode !== undefined)) {
    const other = spec.base !== undefined ? 'base' : 'baseNode';
    throw new ConflictingArgumentsError(
      ['shallow', other],
      `shallow and ${other} exclude each other: shallow means the base is the image directly below top`,
      disk,
    );
  }
  for (const [name, value] of Object.entries({ top: spec.top, base: spec.base, topNode: spec.topNode, baseNode: spec.baseNode })) {
    // An empty name is an unset variable in a script, not "the default": refuse it.
    if (value === '') throw new ConflictingArgumentsError([name], `an empty ${name} names no image (leave it out for the default)`, disk);
  }
}

/**
 * Resolves top and base against the disk's chain with QEMU's and virsh's defaults
 * (top = active layer, base = bottom image), refusing every range QEMU would refuse.
 * Order is the chain's order (`disk.layers`): indices are names only.
 */
export function resolveCommitRange(disk: DiskChain, spec: CommitRangeSpec, otherDisks: readonly DiskChain[] = []): CommitRange {
  const label = disk.requestedAs ?? diskLabel(disk);
  validateRangeSpec(spec, label);
  const active = disk.layers[disk.layers.length - 1];
  const bottom = disk.layers[0];
  if (!active || !bottom) throw new ImageNotInChainError(spec.top ?? spec.topNode ?? 'active layer', label, 'the disk has no images');

  const top =
    spec.top !== undefined
      ? resolveLayer(disk, spec.top, otherDisks)
      : spec.topNode !== undefined
        ? resolveLayer(disk, spec.topNode, otherDisks, 'node')
        : active;
  if (spec.active === true && top !== active) {
    throw new InvalidCommitRangeError(
      label,
      'not-active',
      `active commit requested but [${top.index}] ${top.file} is not active (the active layer is [${active.index}] ${active.file})`,
    );
  }
  if (spec.active === false && top === active && disk.layers.length > 1) {
    throw new InvalidCommitRangeError(
      label,
      'active-not-requested',
      `top [${top.index}] ${top.file} is the active layer: committing it is an active commit, which has to be asked for (active: true)`,
    );
  }
  const topAt = disk.layers.indexOf(top);
  let base: ChainLayer;
  if (spec.shallow) {
    const below = disk.layers[topAt - 1];
    if (!below) throw new InvalidCommitRangeError(label, 'no-image-below', `shallow: [${top.index}] ${top.file} has no image below it`);
    base = below;
  } else {
    base =
      spec.base !== undefined
        ? resolveLayer(disk, spec.base, otherDisks)
        : spec.baseNode !== undefined
          ? resolveLayer(disk, spec.baseNode, otherDisks, 'node')
          : bottom;
  }

  if (top === base) {
    const why =
      spec.top === undefined && spec.topNode === undefined && spec.base === undefined && spec.baseNode === undefined
        ? 'the chain has a single image, there is nothing to commit'
        : 'cannot commit an image into itself';
    throw new InvalidCommitRangeError(label, 'same-image', `top and base are both [${top.index}] ${top.file}: ${why}`);
  }
  if (disk.layers.indexOf(base) > topAt) {
    throw new InvalidCommitRangeError(
      label,
      'base-above-top',
      `base [${base.index}] ${base.file} is above top [${top.index}] ${top.file}; base must be below top (did you swap them?)`,
    );
  }
  return { disk, top, base, active: top === active };
}

/**
 * Resolves a pull (virsh blockpull): `base` names the image that stays below the active layer (a
 * file, node name or DISK[N]); without it the whole chain is pulled in and the active layer stands
 * alone. The images between base and the active layer are what the pull copies, and what leaves
 * the chain.
 */
export function resolvePullRange(disk: DiskChain, spec: { base?: string | undefined }, otherDisks: readonly DiskChain[] = []): PullRange {
  const label = disk.requestedAs ?? diskLabel(disk);
  if (spec.base === '') throw new ConflictingArgumentsError(['base'], 'an empty base names no image (leave it out to pull the whole chain)', label);
  const active = disk.layers[disk.layers.length - 1];
  if (!active) throw new ImageNotInChainError(spec.base ?? 'active layer', label, 'the disk has no images');
  if (disk.layers.length === 1)
    throw new InvalidCommitRangeError(label, 'same-image', `the chain has a single image, ${active.file}: there is nothing to pull`);
  const base = spec.base === undefined ? undefined : resolveLayer(disk, spec.base, otherDisks);
  if (base === active)
    throw new InvalidCommitRangeError(label, 'same-image', `base [${active.index}] ${active.file} is the active layer: a pull needs a base below it`);
  const from = base ? positionOf(disk, base) + 1 : 0;
  const pulled = disk.layers.slice(from, disk.layers.length - 1);
  if (pulled.length === 0)
    throw new InvalidCommitRangeError(
      label,
      'no-image-below',
      `base [${base?.index}] ${base?.file} is directly below the active layer: there is nothing to pull`,
    );
  return { disk, base, pulled };
}
