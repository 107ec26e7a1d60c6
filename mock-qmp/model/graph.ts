/*
 * The block graph a transcript's QEMU had, as the recorded graph queries showed it, in epochs: before
 * the first job, while it ran, after it ended, and so on for each job and each graph-changing command
 * (docs/trace-format.md, "Model").
 * A pivot changes what the next query shows because the model moves on to the epoch recorded after
 * the job; names a client uses (drive, node, file) resolve against the epoch's chains.
 */
import type { QmpMessage } from '../../src/framing.js';
import { isJsonObject as isObject } from '../../src/util/json.js';
import { canonical, type Script } from '../script.js';

/** Queries whose answer is the graph: they follow the model's epoch. */
export const GRAPH_QUERIES = new Set(['query-block', 'query-named-block-nodes', 'x-debug-query-block-graph']);

/** Drivers that are not the format layer of an image: never what a file name in a chain names. */
const NOT_FORMAT = new Set([
  'file',
  'host_device',
  'host_cdrom',
  'nbd',
  'blkdebug',
  'blklogwrites',
  'throttle',
  'copy-on-read',
  'null-co',
  'null-aio',
  'nvme',
  'commit_top',
  'mirror_top',
]);

export interface JobSpan {
  /** Recorded time the job was created and the time its last event (COMPLETED/CANCELLED) came. */
  start: number;
  end: number;
}

/** Commands that change the graph without a job: the model's graph moves on when a client's is replayed. */
export const GRAPH_CHANGING = new Set([
  'blockdev-snapshot-sync',
  'blockdev-snapshot',
  'transaction',
  'blockdev-add',
  'blockdev-del',
  'x-blockdev-change',
  'blockdev-reopen',
]);

/**
 * The graph's epochs: each job's start and end, and each successful graph-changing command, is a change
 * point; the epoch at time t is the number of change points up to t.
 */
export class Epochs {
  private readonly points: number[];

  constructor(script: Script, spans: readonly JobSpan[]) {
    const changes = script.exchanges.filter((x) => GRAPH_CHANGING.has(x.name) && x.reply && 'return' in x.reply.msg).map((x) => x.reply!.t);
    this.points = [...spans.flatMap((s) => [s.start, s.end]), ...changes].filter(Number.isFinite).sort((a, b) => a - b);
  }

  at(t: number): number {
    return this.points.filter((p) => p <= t).length;
  }

  before(t: number): number {
    return this.points.filter((p) => p < t).length;
  }
}

interface RecordedReply {
  key: string;
  name: string;
  epoch: number;
  reply: QmpMessage;
}

export class RecordedGraph {
  private readonly replies: RecordedReply[] = [];

  constructor(script: Script, epochs: Epochs) {
    for (const exchange of script.exchanges) {
      if (!GRAPH_QUERIES.has(exchange.name) || !exchange.reply || 'error' in exchange.reply.msg) continue;
      this.replies.push({ key: keyOf(exchange.name, exchange.args), name: exchange.name, epoch: epochs.at(exchange.reply.t), reply: exchange.reply.msg });
    }
  }

  /** The recorded answer to a graph query in this epoch, else the nearest earlier epoch, else any. */
  reply(epoch: number, name: string, args: Record<string, unknown> | undefined): QmpMessage | undefined {
    const key = keyOf(name, args);
    const same = this.replies.filter((r) => r.key === key);
    const pool = same.length ? same : this.replies.filter((r) => r.name === name);
    const earlier = pool.filter((r) => r.epoch <= epoch).sort((a, b) => b.epoch - a.epoch)[0];
    return (earlier ?? pool[0])?.reply;
  }

  /** The graph of an epoch as names: for resolving what a client's job command means. */
  view(epoch: number): GraphView {
    const blocks = this.reply(epoch, 'query-block', undefined);
    const nodes = this.reply(epoch, 'query-named-block-nodes', { flat: true }) ?? this.reply(epoch, 'query-named-block-nodes', undefined);
    return new GraphView(Array.isArray(blocks?.return) ? blocks.return : [], Array.isArray(nodes?.return) ? nodes.return : []);
  }
}

function keyOf(name: string, args: Record<string, unknown> | undefined): string {
  return `${name} ${canonical(args ?? {})}`;
}

export class GraphView {
  private readonly nodes: Record<string, unknown>[];
  private readonly blocks: Record<string, unknown>[];

  constructor(blocks: unknown[], nodes: unknown[]) {
    this.blocks = blocks.filter(isObject);
    this.nodes = nodes.filter(isObject);
  }

  get known(): boolean {
    return this.nodes.length > 0 || this.blocks.length > 0;
  }

  /** A BlockBackend (drive) name or a node name, as QEMU's bdrv_lookup_bs takes them: the node it means. */
  lookup(name: string): string | undefined {
    if (this.nodes.some((n) => n['node-name'] === name)) return name;
    const block = this.blocks.find((b) => b.device === name && name !== '');
    const inserted = block && isObject(block.inserted) ? block.inserted : undefined;
    return typeof inserted?.['node-name'] === 'string' ? inserted['node-name'] : undefined;
  }

  /** The names of the node's named dirty bitmaps, as query-named-block-nodes listed them. */
  bitmapsOf(node: string): string[] {
    const entry = this.nodes.find((n) => n['node-name'] === node);
    const bitmaps = Array.isArray(entry?.['dirty-bitmaps']) ? entry['dirty-bitmaps'] : [];
    return bitmaps.flatMap((b) => (isObject(b) && typeof b.name === 'string' ? [b.name] : []));
  }

  /**
   * The name QEMU's errors give a node (bdrv_get_device_or_node_name): the drive whose root it is —
   * or the drive the client named, whose root a job's filter may be by now — else the node name.
   */
  deviceOrNodeName(node: string, named: string): string {
    if (this.blocks.some((b) => b.device === named && named !== '')) return named;
    const block = this.blocks.find((b) => isObject(b.inserted) && b.inserted['node-name'] === node && typeof b.device === 'string' && b.device !== '');
    return typeof block?.device === 'string' ? block.device : node;
  }

  /** A node name, drive name or an image's file name (as block-commit's top/base take it). */
  resolve(name: string): string | undefined {
    return this.lookup(name) ?? this.formatNodeOf(name);
  }

  /**
   * Whether a node has no parent (what QEMU's "Need a root block node" checks): known to be a child
   * when it is below the top of a device's chain, another node's backing file, or a format node's file.
   */
  isRoot(node: string): boolean {
    for (const block of this.blocks) {
      const top = isObject(block.inserted) ? block.inserted['node-name'] : undefined;
      if (typeof top === 'string' && this.chainFrom(top).indexOf(node) > 0) return false;
    }
    const entry = this.nodes.find((n) => n['node-name'] === node);
    if (!entry || typeof entry.file !== 'string') return true;
    const isFormat = typeof entry.drv === 'string' && !NOT_FORMAT.has(entry.drv);
    if (isFormat) return !this.nodes.some((n) => n !== entry && n.backing_file === entry.file);
    return !this.nodes.some((n) => n !== entry && n.file === entry.file && typeof n.drv === 'string' && !NOT_FORMAT.has(n.drv));
  }

  /** The chain from `node` down to its bottom, by node names (from query-block's image nesting). */
  chainFrom(node: string): string[] {
    for (const block of this.blocks) {
      if (!isObject(block.inserted)) continue;
      const chain: string[] = [];
      let image: unknown = block.inserted.image;
      let name: string | undefined = typeof block.inserted['node-name'] === 'string' ? block.inserted['node-name'] : undefined;
      while (isObject(image) && name) {
        chain.push(name);
        image = image['backing-image'];
        name = isObject(image) && typeof image.filename === 'string' ? this.formatNodeOf(image.filename) : undefined;
      }
      const at = chain.indexOf(node);
      if (at !== -1) return chain.slice(at);
    }
    return [node];
  }

  private formatNodeOf(filename: string): string | undefined {
    const candidates = this.nodes.filter((n) => n.file === filename);
    const format = candidates.find((n) => typeof n.drv === 'string' && !NOT_FORMAT.has(n.drv)) ?? candidates[0];
    return typeof format?.['node-name'] === 'string' ? format['node-name'] : undefined;
  }
}

/** Members that change how a job runs, not what it does: ignored when a client's job is matched to a recorded one. */
const HOW_NOT_WHAT = new Set(['job-id', 'speed', 'auto-finalize', 'auto-dismiss', 'filter-node-name']);

/**
 * What a job-creating command does, in the graph's own names, so that `device: "drive0"` and
 * `device: "#block173", top-node: "#block173", base-node: "#block750"` are the same commit.
 */
export function jobWhat(name: string, args: Record<string, unknown> | undefined, view: GraphView): string {
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(args ?? {})) if (!HOW_NOT_WHAT.has(key)) rest[key] = value;
  if (rest['on-error'] === 'report') delete rest['on-error'];
  const device = typeof rest.device === 'string' ? (view.lookup(rest.device) ?? rest.device) : undefined;
  if (device !== undefined) rest.device = device;
  const take = (...keys: string[]): string | undefined => {
    let found: string | undefined;
    for (const key of keys) {
      if (typeof rest[key] === 'string') found ??= view.resolve(rest[key] as string) ?? (rest[key] as string);
      delete rest[key];
    }
    return found;
  };
  if (name === 'block-commit' && device !== undefined) {
    const chain = view.chainFrom(device);
    rest.top = take('top-node', 'top') ?? device;
    rest.base = take('base-node', 'base') ?? chain[chain.length - 1];
  } else if (name === 'block-stream') {
    rest.base = take('base-node', 'base') ?? null;
  }
  return `${name} ${canonical(rest)}`;
}
