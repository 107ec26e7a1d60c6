/*
 * The --json records of the picture commands (graph, trace diff, trace view, commit --dry-run
 * --format), in one place so the output schema can take them in.
 */
import type { BlockGraph } from '../../block/graph.js';
import type { TraceDifference } from '../../trace/diff.js';

/** `graph --json`: the whole graph (or DISK's part of it) in one line. */
export interface GraphRecord extends BlockGraph {
  type: 'graph';
  /** The DISK asked for, when one was. */
  disk?: string;
}

/** `trace diff A B --json`: whether they differ, and each difference in order. */
export interface TraceDiffRecord {
  type: 'trace-diff';
  a: string;
  b: string;
  same: boolean;
  /** Steps compared (after normalisation) on each side. */
  steps: { a: number; b: number };
  differences: TraceDifference[];
}

/** `trace view FILE -o OUT --json` and `commit --dry-run --format svg|html -o OUT --json`: what was written. */
export interface PictureWrittenRecord {
  type: 'picture';
  format: 'html' | 'svg';
  file: string;
  bytes: number;
}
