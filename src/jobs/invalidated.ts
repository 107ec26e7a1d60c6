/*
 * Which images a commit leaves invalid on their own (Eric Blake's note in the libvirt seed page).
 * A commit copies into base the view of top at every cluster allocated in (base, top]. So:
 *  - an intermediate (strictly between base and top) now sees the newer data of the layers above it
 *    through base: invalid in isolation, whatever the outcome;
 *  - top still reads as before (its own data and the intermediates' are unchanged, and base only
 *    changed where they cover it) — until the guest writes into base, which happens after a pivot;
 *  - base equals the guest view once the job succeeded, and is partly written if it did not.
 */
import { rm } from 'node:fs/promises';
import type { ChainLayer, CommitRange, InvalidatedImages } from '../block/types.js';
import { JobOptionError } from './errors.js';

export type CommitOutcome = 'completed' | 'pivoted' | 'overlay-kept' | 'aborted' | 'failed';

function layersBetween(range: CommitRange): { between: ChainLayer[]; above: ChainLayer[] } {
  const layers = [...range.disk.layers].sort((a, b) => a.index - b.index);
  return {
    between: layers.filter((l) => l.index > range.base.index && l.index < range.top.index),
    above: layers.filter((l) => l.index > range.top.index),
  };
}

/**
 * The images `outcome` left invalid / still valid. `finishedBy` "unknown" is an active commit that
 * someone else completed: whether the guest pivoted is not known, so the top is listed in neither.
 */
export function invalidatedBy(range: CommitRange, outcome: CommitOutcome | 'unknown'): InvalidatedImages {
  const { between, above } = layersBetween(range);
  const files = (ls: readonly ChainLayer[]): string[] => ls.map((l) => l.file);
  switch (outcome) {
    case 'completed':
      // Intermediate commit: QEMU relinked the image above top onto base; top itself still reads right.
      return { files: files(between), stillValid: files([range.base, range.top, ...above]), removedFromChain: files([...between, range.top]) };
    case 'pivoted':
      // The guest now writes into base, so top's view (through base) changes too.
      return { files: files([...between, range.top]), stillValid: files([range.base]), removedFromChain: files([...between, range.top]) };
    case 'overlay-kept':
      return { files: files(between), stillValid: files([range.base, range.top, ...above]), removedFromChain: [] };
    case 'unknown':
      return { files: files(between), stillValid: files([range.base]), removedFromChain: [] };
    case 'aborted':
    case 'failed':
      // Base was partly written: it is no longer the image it was, nor the guest view.
      return { files: files([range.base, ...between]), stillValid: files([range.top, ...above]), removedFromChain: [] };
  }
}

/** What deleteInvalidated needs from a commit result. */
export interface DeletableResult {
  jobId: string;
  outcome: CommitOutcome;
  invalidated: InvalidatedImages | undefined;
}

/**
 * Deletes exactly `result.invalidated.files`, and only after a successful commit (completed,
 * pivoted, overlay-kept). Never touches a file listed as still valid. Returns the deleted files.
 * The files may still be open in QEMU (as -blockdev nodes); unlinking them is what virsh --delete does.
 */
export async function deleteInvalidated(result: DeletableResult): Promise<string[]> {
  const context = { jobId: result.jobId };
  if (result.outcome !== 'completed' && result.outcome !== 'pivoted' && result.outcome !== 'overlay-kept') {
    throw new JobOptionError(`refusing to delete images after commit job '${result.jobId}' ended ${result.outcome}: only a successful commit makes them redundant`, context);
  }
  if (!result.invalidated) {
    throw new JobOptionError(`commit job '${result.jobId}' was attached without its range: which images it invalidated is not known`, context);
  }
  const keep = new Set(result.invalidated.stillValid);
  const clash = result.invalidated.files.filter((f) => keep.has(f));
  if (clash.length) throw new JobOptionError(`refusing to delete ${clash.join(', ')}: listed as still valid`, context);
  const deleted: string[] = [];
  for (const file of result.invalidated.files) {
    await rm(file);
    deleted.push(file);
  }
  return deleted;
}
