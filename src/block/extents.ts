/*
 * Byte extents as [offset, length] pairs, sorted and non-overlapping once normalised: the shape
 * `qemu-img map` gives and the plan reasons in (what a layer holds, what a job will copy).
 */

export type Extent = readonly [offset: number, length: number];

/** Sorted, merged, empty ones dropped. */
export function normalise(extents: Iterable<Extent>): Extent[] {
  const sorted = [...extents].filter(([, length]) => length > 0).sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const [offset, length] of sorted) {
    const last = out.at(-1);
    if (last && offset <= last[0] + last[1]) last[1] = Math.max(last[1], offset + length - last[0]);
    else out.push([offset, length]);
  }
  return out;
}

/** Every byte in any of the lists. */
export function union(...lists: ReadonlyArray<readonly Extent[]>): Extent[] {
  return normalise(lists.flat());
}

/** The bytes of `from` that are not in `minus` (both normalised). */
export function subtract(from: readonly Extent[], minus: readonly Extent[]): Extent[] {
  const out: Extent[] = [];
  let j = 0;
  for (const [offset, length] of from) {
    let start = offset;
    const end = offset + length;
    while (j < minus.length && (minus[j] as Extent)[0] + (minus[j] as Extent)[1] <= start) j++;
    for (let k = j; k < minus.length && start < end; k++) {
      const [mOffset, mLength] = minus[k] as Extent;
      if (mOffset >= end) break;
      if (mOffset > start) out.push([start, mOffset - start]);
      start = Math.max(start, mOffset + mLength);
    }
    if (start < end) out.push([start, end - start]);
  }
  return out;
}

export function totalBytes(extents: readonly Extent[]): number {
  return extents.reduce((sum, [, length]) => sum + length, 0);
}

/** Whether any byte of [offset, offset + length) is in the (normalised) extents. */
export function overlaps(extents: readonly Extent[], offset: number, length: number): boolean {
  const end = offset + length;
  return extents.some(([o, l]) => o < end && o + l > offset);
}
