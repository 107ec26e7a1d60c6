/*
 * Persistent dirty bitmaps (libvirt's checkpoints, the bookkeeping of every incremental backup) kept
 * across snapshots and block jobs, as libvirt keeps them: a snapshot adds each recording persistent
 * bitmap of the old top to the new overlay (qemuSnapshotDiskBitmapsPropagate); a commit, pull or copy
 * merges the bitmaps of the images that leave the chain into the image that stays, creating the
 * ones it lacks with the same granularity and recording state (qemuBlockGetBitmapMergeActions).
 * Measured on QEMU 7.2: without that, a bitmap on an overlay leaves with the overlay, and one on a
 * backing image stops seeing the guest's writes.
 */
import type { TransactionAction } from '../qapi/types.js';
import { layersBetween } from './address.js';
import type { BlockQueryClient, ChainQueryOptions } from './chain.js';
import { BlockError } from './errors.js';
import type { ChainLayer, CommitRange, PullRange } from './types.js';

/** One named dirty bitmap of one node, as query-named-block-nodes reports it. */
export interface DirtyBitmap {
  name: string;
  node: string;
  file: string;
  /** Dirty bytes. */
  count: number;
  granularity: number;
  recording: boolean;
  persistent: boolean;
  /** In use by an operation (a backup's or an export's): cannot be changed now. */
  busy: boolean;
  /** QEMU stopped without saving it (its in-use flag was left set): it cannot be used or changed. */
  inconsistent: boolean;
}

/** The named bitmaps of every node, by node name. */
export type BitmapsByNode = ReadonlyMap<string, readonly DirtyBitmap[]>;

/** An image that bitmaps come from or go to: its node and file. */
export interface BitmapHolder {
  nodeName: string;
  file: string;
}

/** One bitmap name that a job or snapshot moves: merged from `from` (top first) into `to`. */
export interface BitmapMove {
  name: string;
  from: Array<{ node: string; file: string; count: number }>;
  to: BitmapHolder;
  /** `to` has no bitmap of this name yet: it is created (persistent, same granularity). */
  create: boolean;
  /** Created disabled, because the newest source bitmap of this name does not record. */
  disabled: boolean;
  granularity: number;
}

/** A persistent bitmap a job would have to change or carry, which QEMU cannot use: refused before anything starts. */
export class BitmapNotUsableError extends BlockError {
  readonly bitmap: string;
  readonly file: string;
  constructor(bitmap: DirtyBitmap, why: string, disk: string | undefined) {
    super(`bitmap '${bitmap.name}' on ${bitmap.file} ${why}${disk ? ` (disk ${disk})` : ''}`, disk);
    this.bitmap = bitmap.name;
    this.file = bitmap.file;
  }
}

/** Every named bitmap of every node (anonymous ones are a job's own, and never moved). */
export async function readBitmaps(client: BlockQueryClient, options: ChainQueryOptions = {}): Promise<Map<string, DirtyBitmap[]>> {
  const nodes = await client.execute('query-named-block-nodes', { flat: true }, options);
  const byNode = new Map<string, DirtyBitmap[]>();
  for (const node of nodes) {
    const name = node['node-name'];
    const raw = node['dirty-bitmaps'];
    if (name === undefined || !Array.isArray(raw)) continue;
    const bitmaps = (raw as Array<Record<string, unknown>>)
      .filter((b) => typeof b.name === 'string')
      .map(
        (b): DirtyBitmap => ({
          name: b.name as string,
          node: name,
          file: node.file,
          count: Number(b.count ?? 0),
          granularity: Number(b.granularity ?? 65536),
          recording: b.recording === true,
          persistent: b.persistent === true,
          busy: b.busy === true,
          inconsistent: b.inconsistent === true,
        }),
      );
    if (bitmaps.length) byNode.set(name, bitmaps);
  }
  return byNode;
}

function unusable(bitmap: DirtyBitmap): string | undefined {
  if (bitmap.inconsistent)
    return 'is inconsistent (QEMU stopped without saving it) and QEMU cannot read or change it: remove it first (qemu-img bitmap --remove, or block-dirty-bitmap-remove)';
  if (bitmap.busy) return 'is in use by another operation (a backup or an export) and cannot be changed now';
  return undefined;
}

/**
 * The bitmaps that go from `sources` (top first: the images leaving the chain, or the chain a copy
 * carries) into `target` (the image that stays). Throws BitmapNotUsableError, naming the bitmap,
 * when one of them, or a persistent bitmap of `target` (which the job writes), cannot be used.
 */
export function planBitmapMoves(sources: readonly BitmapHolder[], target: BitmapHolder, bitmaps: BitmapsByNode, disk?: string): BitmapMove[] {
  const onTarget = bitmaps.get(target.nodeName) ?? [];
  for (const bitmap of onTarget) {
    const why = bitmap.persistent ? unusable(bitmap) : undefined;
    if (why) throw new BitmapNotUsableError(bitmap, `${why}; the job writes that image, and the bitmap would miss those writes`, disk);
  }
  const moves = new Map<string, BitmapMove>();
  for (const source of sources) {
    for (const bitmap of bitmaps.get(source.nodeName) ?? []) {
      if (!bitmap.persistent) continue;
      const why = unusable(bitmap);
      if (why) throw new BitmapNotUsableError(bitmap, `${why}; it would have to be merged into ${target.file}`, disk);
      let move = moves.get(bitmap.name);
      if (!move) {
        const existing = onTarget.find((b) => b.name === bitmap.name);
        move = {
          name: bitmap.name,
          from: [],
          to: target,
          create: !existing,
          disabled: !existing && !bitmap.recording,
          granularity: existing?.granularity ?? bitmap.granularity,
        };
        moves.set(bitmap.name, move);
      }
      move.from.push({ node: bitmap.node, file: bitmap.file, count: bitmap.count });
    }
  }
  return [...moves.values()].sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

/** The transaction actions of `moves`: create what is missing, then merge (QEMU allows merging into a disabled bitmap). */
export function bitmapMoveActions(moves: readonly BitmapMove[]): TransactionAction[] {
  return moves.flatMap((m): TransactionAction[] => [
    ...(m.create
      ? [
          {
            type: 'block-dirty-bitmap-add',
            data: { node: m.to.nodeName, name: m.name, persistent: true, granularity: m.granularity, ...(m.disabled ? { disabled: true } : {}) },
          },
        ]
      : []),
    { type: 'block-dirty-bitmap-merge', data: { node: m.to.nodeName, target: m.name, bitmaps: m.from.map((f) => ({ node: f.node, name: m.name })) } },
  ]);
}

/**
 * The actions that, in a snapshot's transaction, give the new overlay `overlayNode` an empty bitmap
 * of each recording persistent bitmap of the old top, so tracking goes on there (the old one stays
 * on the old top and keeps what was dirtied before).
 */
export function snapshotBitmapActions(oldTop: BitmapHolder, overlayNode: string, bitmaps: BitmapsByNode): TransactionAction[] {
  // Oldest first (QEMU lists newest first), so the overlay keeps the checkpoints' order.
  return [...(bitmaps.get(oldTop.nodeName) ?? [])]
    .reverse()
    .filter((b) => b.persistent && b.recording && !b.inconsistent)
    .map((b) => ({ type: 'block-dirty-bitmap-add', data: { node: overlayNode, name: b.name, persistent: true, granularity: b.granularity } }));
}

/**
 * Reads the bitmaps now and merges those of `sources` into `target` in one transaction (nothing sent
 * when there is nothing to move). Returns what moved.
 */
export async function carryBitmaps(
  client: BlockQueryClient,
  sources: readonly BitmapHolder[],
  target: BitmapHolder,
  options: ChainQueryOptions & { disk?: string } = {},
): Promise<BitmapMove[]> {
  const moves = await checkBitmapMoves(client, sources, target, options);
  const { disk: _disk, ...query } = options;
  if (moves.length) await client.execute('transaction', { actions: bitmapMoveActions(moves) }, query);
  return moves;
}

/** Plans the moves with the bitmaps read now, to refuse an unusable bitmap before a job starts. */
export async function checkBitmapMoves(
  client: BlockQueryClient,
  sources: readonly BitmapHolder[],
  target: BitmapHolder,
  options: ChainQueryOptions & { disk?: string } = {},
): Promise<BitmapMove[]> {
  const { disk, ...query } = options;
  return planBitmapMoves(sources, target, await readBitmaps(client, query), disk);
}

/** One line per move, for --dry-run and reports: "bitmap chk1: sn1.qcow2 → base.qcow2 (created)". */
export function describeBitmapMoves(moves: readonly BitmapMove[]): string[] {
  return moves.map(
    (m) =>
      `bitmap ${m.name}: ${m.from.map((f) => f.file).join(' + ')} → ${m.to.file}${m.create ? ` (created${m.disabled ? ', disabled as on the source' : ''})` : ' (merged into its own)'}`,
  );
}

/**
 * What a running active commit or copy `jobId` carries at its pivot, read from the block graph (so a
 * job attached by id carries as a started one does): its target (the commit's base, the copy's
 * destination) and, top first, the images whose data the target takes over — the job's source down
 * to the target (commit), to the destination's own backing image (shallow copy), or to the bottom
 * (full copy). QEMU 7.2 to 11.1 give the job node "source" and "target" edges. Undefined when the
 * graph shows no such job.
 */
export async function runningJobBitmapHolders(
  client: BlockQueryClient,
  jobId: string,
  options: ChainQueryOptions = {},
): Promise<{ sources: BitmapHolder[]; target: BitmapHolder } | undefined> {
  const [graph, nodes] = await Promise.all([
    client.execute('x-debug-query-block-graph', undefined, options),
    client.execute('query-named-block-nodes', { flat: true }, options),
  ]);
  const child = (parent: number | undefined, name: string) => {
    const edge = graph.edges.find((e) => e.parent === parent && e.name === name);
    return edge && graph.nodes.find((n) => n.id === edge.child);
  };
  const holder = (name: string): BitmapHolder => ({ nodeName: name, file: nodes.find((n) => n['node-name'] === name)?.file ?? name });
  const job = graph.nodes.find((n) => n.type === 'block-job' && n.name === jobId);
  const source = child(job?.id, 'source');
  const target = child(job?.id, 'target');
  if (!source?.name || !target?.name) return undefined;
  const stop = new Set([target.id, child(target.id, 'backing')?.id]);
  const sources: BitmapHolder[] = [];
  // Bounded by the graph's size: a backing loop cannot exist, but a bad reply must not hang us.
  for (
    let node: typeof source | undefined = source;
    node?.name && !stop.has(node.id) && sources.length < graph.nodes.length;
    node = child(node.id, 'backing')
  ) {
    sources.push(holder(node.name));
  }
  return { sources, target: holder(target.name) };
}

/** The images whose bitmaps a commit merges into base: top, then down to just above base. */
export function commitBitmapSources(range: CommitRange): ChainLayer[] {
  return [range.top, ...layersBetween(range.disk, range.base, range.top).between.reverse()];
}

/** The images whose bitmaps a pull merges into the active image: the pulled ones, top first. */
export function pullBitmapSources(range: PullRange): ChainLayer[] {
  return [...range.pulled].reverse();
}
