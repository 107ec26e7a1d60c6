/*
 * The --json records of the picture commands (graph, trace diff, trace view, commit --dry-run
 * --format), in one place so the output schema can take them in.
 */
import type { BlockGraph } from '../../block/graph.js';

/** `graph --json`: the whole graph (or DISK's part of it) in one line. */
export interface GraphRecord extends BlockGraph {
  type: 'graph';
  /** The DISK asked for, when one was. */
  disk?: string;
}

/** `trace view FILE -o OUT --json` and `commit --dry-run --format svg|html -o OUT --json`: what was written. */
export interface PictureWrittenRecord {
  type: 'picture';
  format: 'html' | 'svg';
  file: string;
  bytes: number;
}
