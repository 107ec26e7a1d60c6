/*
 * Which images a commit leaves invalid on their own (Eric Blake's note in the libvirt seed page).
 * A commit copies into base the view of top at every cluster allocated in (base, top]. So:
 *  - an intermediate (strictly between base and top) now sees the newer data of the layers above it
 *    through base: invalid in isolation, whatever the outcome;
 *  - top still reads as before (its own data and the intermediates' are unchanged, and base only
 *    changed where they cover it) — until the guest writes into base, which happens after a pivot;
 *  - base equals the guest view once the job succeeded, and is partly written if it did not.
 */
import { layersBetween } from '../block/address.js';
import type { ChainLayer, CommitRange, InvalidatedImages } from '../block/types.js';

import type { JobOutcome } from './types.js';

/**
 * The images `outcome` left invalid / still valid. `finishedBy` "unknown" is an active commit that
 * someone else completed: whether the guest pivoted is not known, so the top is listed in neither.
 * `removedFromChain` is what left the disk's chain: what virsh --delete deletes.
 */
export function invalidatedBy(range: CommitRange, outcome: JobOutcome | 'unknown'): InvalidatedImages {
  const { between, above } = layersBetween(range.disk, range.base, range.top);
  const files = (ls: readonly ChainLayer[]): string[] => ls.map((l) => l.file);
  switch (outcome) {
    case 'completed':
      // Intermediate commit: QEMU relinked the image above top onto base; top itself still reads right.
      return { files: files(between), stillValid: files([range.base, range.top, ...above]), removedFromChain: files([...between, range.top]) };
    case 'pivoted':
      // The guest now writes into base, so top's view (through base) changes too.
      return { files: files([...between, range.top]), stillValid: files([range.base]), removedFromChain: files([...between, range.top]) };
    case 'overlay-kept':
    case 'copied': // a copy's word for the same ending; a commit never reports it
      return { files: files(between), stillValid: files([range.base, range.top, ...above]), removedFromChain: [] };
    case 'unknown':
      return { files: files(between), stillValid: files([range.base]), removedFromChain: [] };
    case 'aborted':
    case 'failed':
      // Base was partly written: it is no longer the image it was, nor the guest view.
      return { files: files([range.base, ...between]), stillValid: files([range.top, ...above]), removedFromChain: [] };
  }
}
