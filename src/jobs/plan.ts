/*
 * What a commit or a pull would do, worked out before a byte moves: what each image holds, what the
 * job will copy, which images it will invalidate and why, the guest view before and after. Pure:
 * fed the chain's allocation (src/block/allocation.ts), so it is tested in milliseconds.
 */
import type { JobKindName } from './kinds.js';
import { callerDiskName } from '../block/chain.js';
import { layersBetween } from '../block/address.js';
import type { LayerAllocation } from '../block/allocation.js';
import { subtract, totalBytes, union, type Extent } from '../block/extents.js';
import type { ChainLayer, CommitRange, PullRange } from '../block/types.js';
import { invalidatedBy } from './invalidated.js';

export interface PlanLayer {
  file: string;
  node: string;
  index: number;
  allocatedBytes: number;
  extents: Extent[];
  /** False: the map could not be read and the layer is counted as fully allocated. */
  known: boolean;
}

export interface JobPlan {
  type: 'plan';
  job: Exclude<JobKindName, 'copy'>;
  disk: string;
  virtualSize: number;
  /** Bytes the job will copy: for an active commit what QEMU then reports as READY `len`. */
  copyBytes: number;
  /** What QEMU's own job `len` will be, when it is not copyBytes (a commit or pull counts the whole disk). */
  qemuLen: number;
  invalidated: string[];
  stillValid: string[];
  /** The images the job takes out of the disk's chain (what --delete would remove). */
  leavesChain: string[];
  /** Why each image becomes invalid or stays valid, by file. */
  reasons: Record<string, string>;
  layers: PlanLayer[];
  /**
   * After the job: the chain (files, base first), the image written (`target`), the bytes copied
   * into it, and the image whose view those bytes are (`viewOf`: top for a commit, the active image for a pull).
   */
  after: { chain: string[]; target: string; viewOf: string; copied: Extent[] };
  etaSeconds?: number;
  notes: string[];
}

function planLayers(allocation: readonly LayerAllocation[]): PlanLayer[] {
  return allocation.map(({ layer, extents, known }) => ({
    file: layer.file,
    node: layer.nodeName,
    index: layer.index,
    allocatedBytes: totalBytes(extents),
    extents,
    known,
  }));
}

function extentsOf(allocation: readonly LayerAllocation[], layers: readonly ChainLayer[]): Extent[][] {
  return layers.map((layer) => allocation.find((a) => a.layer.nodeName === layer.nodeName)?.extents ?? [[0, layer.virtualSize]]);
}

function eta(bytes: number, speed: number | undefined): { etaSeconds?: number } {
  return speed ? { etaSeconds: bytes / speed } : {};
}

function unknownNotes(allocation: readonly LayerAllocation[]): string[] {
  return allocation.filter((a) => !a.known).map((a) => `${a.layer.file}: ${a.note ?? 'map unknown'}`);
}

/** The plan of `range`; `pivot` says what an active commit ends in (else the overlay is kept). */
export function planCommit(
  range: CommitRange,
  allocation: readonly LayerAllocation[],
  options: { pivot?: boolean; speed?: number; otherDisks?: ReadonlyArray<{ label: string; files: readonly string[] }> } = {},
): JobPlan {
  const { between, above } = layersBetween(range.disk, range.base, range.top);
  // A base another disk's chain also holds is read-only for QEMU there: the commit cannot write into it.
  const sharers = (options.otherDisks ?? []).filter((d) => d.files.includes(range.base.file)).map((d) => d.label);
  const merged = [...between, range.top];
  // QEMU copies every cluster allocated anywhere in (base, top]: the view of top there.
  const copied = union(...extentsOf(allocation, merged));
  const copyBytes = totalBytes(copied);
  const outcome = range.active ? (options.pivot ? 'pivoted' : 'overlay-kept') : 'completed';
  const expected = invalidatedBy(range, outcome);
  const reasons: Record<string, string> = {};
  for (const layer of between) reasons[layer.file] = 'an intermediate: it reads through base, which will hold the newer data of the images above it';
  reasons[range.base.file] =
    range.active && options.pivot
      ? "the guest's disk after the pivot: it will hold the whole guest view"
      : 'it will hold the merged data, and reads as top did';
  reasons[range.top.file] =
    outcome === 'pivoted'
      ? 'it reads through base, which the guest writes into after the pivot'
      : "its own data and the intermediates' cover every byte that changes in base";
  for (const layer of above) reasons[layer.file] = "above top: it reads as before (top's view is unchanged)";
  for (const layer of range.disk.layers.slice(0, range.disk.layers.indexOf(range.base))) reasons[layer.file] = 'below base: unchanged';
  if (sharers.length)
    reasons[range.base.file] = `also in the chain of ${sharers.join(', ')}: QEMU will refuse to write into it (another disk holds it as a backing image)`;
  const removed = new Set(expected.removedFromChain ?? []);
  const size = range.disk.layers.at(-1)?.virtualSize ?? range.base.virtualSize;
  return {
    type: 'plan',
    job: range.active ? 'active-commit' : 'commit',
    disk: callerDiskName(range.disk),
    virtualSize: size,
    copyBytes,
    // An active commit is a mirror of what is allocated; an intermediate commit walks the whole disk.
    qemuLen: range.active ? copyBytes : size,
    invalidated: expected.files,
    stillValid: expected.stillValid,
    leavesChain: [...removed],
    reasons,
    layers: planLayers(allocation),
    after: { chain: range.disk.layers.filter((l) => !removed.has(l.file)).map((l) => l.file), target: range.base.file, viewOf: range.top.file, copied },
    ...eta(copyBytes, options.speed),
    notes: [
      ...unknownNotes(allocation),
      ...(sharers.length
        ? [
            `base ${range.base.file} is shared with ${sharers.join(', ')}: QEMU will refuse this commit (it cannot take the write lock on a backing image another disk uses); commit into an image of this disk alone`,
          ]
        : []),
    ],
  };
}

/** The plan of a pull: the pulled images' data that the active image does not already hold. */
export function planPull(range: PullRange, allocation: readonly LayerAllocation[], options: { speed?: number } = {}): JobPlan {
  const active = range.disk.layers.at(-1) as ChainLayer;
  const activeExtents = extentsOf(allocation, [active])[0] ?? [];
  // Without a base the bottom image's data is pulled too: the active image then stands alone.
  const copied = subtract(union(...extentsOf(allocation, range.pulled)), activeExtents);
  const copyBytes = totalBytes(copied);
  const reasons: Record<string, string> = {};
  for (const layer of range.pulled) reasons[layer.file] = 'pulled: it leaves the chain but is not changed, so it still reads as before';
  if (range.base) reasons[range.base.file] = "the active image's new backing: unchanged";
  for (const layer of range.base ? range.disk.layers.slice(0, range.disk.layers.indexOf(range.base)) : [])
    reasons[layer.file] = 'below the new backing: unchanged';
  reasons[active.file] = 'the active image: it will hold the pulled data itself';
  const pulled = new Set(range.pulled.map((l) => l.file));
  const size = active.virtualSize;
  return {
    type: 'plan',
    job: 'pull',
    disk: callerDiskName(range.disk),
    virtualSize: size,
    copyBytes,
    qemuLen: size,
    invalidated: [],
    stillValid: range.disk.layers.map((l) => l.file),
    leavesChain: [...pulled],
    reasons,
    layers: planLayers(allocation),
    after: { chain: range.disk.layers.filter((l) => !pulled.has(l.file)).map((l) => l.file), target: active.file, viewOf: active.file, copied },
    ...eta(copyBytes, options.speed),
    notes: unknownNotes(allocation),
  };
}
