/*
 * A job plan drawn the way Eric Blake explains commits on the libvirt list: a strip per image, one
 * letter per span of the disk for the image whose data is there, '-' for a hole, what each image
 * reads as through the ones below it, before and after the job.
 */
import path from 'node:path';
import { overlaps, type Extent } from '../block/extents.js';
import type { BackupPlan } from '../jobs/backup.js';
import type { JobPlan } from '../jobs/plan.js';

const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function letter(position: number): string {
  return LETTERS[position] ?? '#';
}

/** Human sizes as `qemu-img info` prints them: 12 MiB, 1.5 GiB. */
export function humanBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${Number(value.toFixed(value < 10 ? 2 : 1))} ${units[unit]}`;
}

function strip(extents: readonly Extent[], mark: string, cells: number, cellBytes: number): string[] {
  return Array.from({ length: cells }, (_, c) => (overlaps(extents, c * cellBytes, cellBytes) ? mark : '-'));
}

/** What each layer reads as: the topmost letter at or below it. */
function views(contents: readonly string[][]): string[][] {
  const out: string[][] = [];
  for (const [i, row] of contents.entries()) out.push(row.map((cell, c) => (cell !== '-' ? cell : (out[i - 1]?.[c] ?? '-'))));
  return out;
}

/** Eric Blake's strips for a plan: each layer's contents and what it reads as, before and after the job. */
export interface PlanGrid {
  labels: string[];
  cells: number;
  cellBytes: number;
  before: string[][];
  viewBefore: string[][];
  after: string[][];
  viewAfter: string[][];
  /** '*' where the job copies. */
  copiedCells: string[];
  /** Per layer after the job: invalid, leaves the chain, the guest's disk, or ''. */
  states: string[];
  guestBefore: string[];
  guestAfter: string[];
  target: number;
}

/** The plan on a grid of at most `width` columns, each a power-of-two number of bytes. */
export function planGrid(plan: JobPlan, width: number): PlanGrid {
  const labels = plan.layers.map((l) => `${plan.disk}[${l.index}] ${path.basename(l.file)}`);
  // A power of two per column, so the scale reads as a round size (512 KiB, 64 MiB).
  const cellBytes = 2 ** Math.ceil(Math.log2(Math.max(1, plan.virtualSize / width)));
  const cells = Math.max(1, Math.ceil(plan.virtualSize / cellBytes));
  const before = plan.layers.map((l, i) => strip(l.extents, letter(i), cells, cellBytes));
  const viewBefore = views(before);
  const target = plan.layers.findIndex((l) => l.file === plan.after.target);
  const viewOf = plan.layers.findIndex((l) => l.file === plan.after.viewOf);
  const copiedCells = strip(plan.after.copied, '*', cells, cellBytes);
  const after = before.map((row, i) => (i === target ? row.map((cell, c) => (copiedCells[c] === '*' ? (viewBefore[viewOf]?.[c] ?? cell) : cell)) : row));
  const viewAfter = views(after);
  const activeAfter = plan.layers.findIndex((l) => l.file === plan.after.chain.at(-1));
  const states = plan.layers.map((l, i) =>
    plan.invalidated.includes(l.file) ? 'invalid' : !plan.after.chain.includes(l.file) ? 'leaves the chain' : i === activeAfter ? "the guest's disk" : '',
  );
  return {
    labels,
    cells,
    cellBytes,
    before,
    viewBefore,
    after,
    viewAfter,
    copiedCells,
    states,
    guestBefore: viewBefore.at(-1) ?? [],
    guestAfter: viewAfter[activeAfter] ?? [],
    target,
  };
}

/** The plan as text lines, strips scaled to `columns`. */
export function renderPlan(plan: JobPlan, columns: number): string[] {
  const labelWidth = Math.max(...plan.layers.map((l) => `${plan.disk}[${l.index}] ${path.basename(l.file)}`.length), 'guest sees'.length) + 2;
  const width = Math.max(12, Math.min(96, Math.floor((columns - labelWidth - 2) / 2)));
  const { labels, cells, cellBytes, before, viewBefore, after, viewAfter, states, guestBefore, guestAfter } = planGrid(plan, width);
  const row = (label: string, contents: string, view: string, remark = ''): string =>
    `${label.padEnd(labelWidth)}${contents.padEnd(cells + 2)}${view}${remark ? `  ${remark}` : ''}`.trimEnd();
  const what = plan.job === 'pull' ? 'pull into the active image' : plan.job === 'active-commit' ? 'active commit' : 'commit';
  const lines = [
    `Plan for ${plan.disk}: ${what} (dry run: nothing started)`,
    `${humanBytes(plan.virtualSize)} disk, one column = ${humanBytes(cellBytes)}; a letter: that image holds data there; '-': a hole, read from below`,
    '',
    row('', 'contents', 'reads as'),
    ...labels.map((label, i) => row(label, before[i]!.join(''), viewBefore[i]!.join(''))),
    row('guest sees', '', guestBefore.join('')),
    '',
    'after the job:',
    ...labels.map((label, i) => row(label, after[i]!.join(''), viewAfter[i]!.join(''), states[i])),
    row('guest sees', '', guestAfter.join('')),
    '',
    `Copies ${humanBytes(plan.copyBytes)} (${plan.copyBytes.toLocaleString('en-US')} bytes)${plan.qemuLen !== plan.copyBytes ? `; QEMU's job will count the whole disk as its len (${plan.qemuLen.toLocaleString('en-US')} bytes)` : ", what QEMU's job will report as its len at READY"}`,
  ];
  if (plan.etaSeconds !== undefined) lines.push(`At the given bandwidth: about ${Math.ceil(plan.etaSeconds)} s`);
  const explain = (files: readonly string[]): string[] => files.map((f) => (plan.reasons[f] ? `  ${f}: ${plan.reasons[f]}` : `  ${f}`));
  lines.push(plan.invalidated.length ? 'Will no longer be valid on their own:' : 'No image becomes invalid.', ...explain(plan.invalidated));
  lines.push('Stay valid:', ...explain(plan.stillValid));
  if (plan.leavesChain.length) lines.push(`Leave the chain (what --delete would remove): ${plan.leavesChain.join(', ')}`);
  for (const note of plan.notes) lines.push(`note: ${note}`);
  return lines;
}

/** `backup … --dry-run`: per disk, where it goes, what it copies, which bitmaps and which new checkpoint. */
export function renderBackupPlan(plans: readonly BackupPlan[]): string[] {
  const lines: string[] = [];
  for (const plan of plans) {
    const what = plan.sync === 'full' ? 'full backup' : `incremental backup since checkpoint ${plan.incremental}`;
    lines.push(`Plan for ${plan.disk}: ${what} (dry run: nothing started)`);
    lines.push(`  into ${plan.target}: a new standalone qcow2 file (${humanBytes(plan.virtualSize)}), created exclusively, mode 0600`);
    if (plan.sync === 'full') lines.push(`  copies the guest view as it is at the start: ${humanBytes(plan.virtualSize)}`);
    else {
      lines.push(`  copies what changed since ${plan.incremental}: at most ${humanBytes(plan.copyBytesAtMost)}, from the union of its bitmaps:`);
      for (const b of plan.bitmaps) lines.push(`    bitmap ${plan.incremental} in ${b.file}: ${humanBytes(b.dirtyBytes)} dirty`);
    }
    lines.push(
      plan.checkpoint
        ? `  starts checkpoint ${plan.checkpoint.name} in ${plan.checkpoint.file} at the same instant, kept only if ${plans.length > 1 ? "every disk's backup completes" : 'the backup completes'}`
        : '  starts no checkpoint (--checkpoint NAME would start one for the next incremental)',
    );
  }
  if (plans.length > 1) lines.push(`The ${plans.length} disks would start in one transaction and complete as a group.`);
  return lines;
}
