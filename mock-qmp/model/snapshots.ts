/*
 * A client's own snapshots in the model: its `blockdev-snapshot-sync` (alone or as `transaction`
 * actions) is matched to a snapshot the recording took of the same disk at the same point of the graph,
 * and the client's node name and overlay file then stand for the recorded ones, in what the model
 * answers (outward) and in what the client names later (inward). QEMU keeps the names it was given, so
 * a client that picks `snap-1a2b…` reads `snap-1a2b…` back, whatever the recording's client chose.
 */
import { isJsonObject as isObject } from '../../src/util/json.js';
import type { Script } from '../script.js';
import type { Epochs, RecordedGraph } from './graph.js';

export interface SnapshotAction {
  /** `device` or `node-name`: the disk the overlay goes on. */
  target: string;
  file: string;
  /** The client's `snapshot-node-name`, if it gave one. */
  nodeName?: string;
}

export interface RecordedSnapshot extends SnapshotAction {
  /** The node the target was in the graph before, and the node the overlay became (recorded names). */
  node: string | undefined;
  overlay: string | undefined;
  epoch: number;
  epochAfter: number;
}

/**
 * The snapshot actions of a command, when it is only snapshots (alone or in a transaction):
 * `blockdev-snapshot-sync`, or `blockdev-snapshot` of an overlay node a client added before
 * (`added`: node name → the file it opens, as blockdev-add gave it).
 */
export function snapshotActions(
  name: string,
  args: Record<string, unknown> | undefined,
  added: ReadonlyMap<string, string> = new Map(),
): SnapshotAction[] | undefined {
  if (name === 'blockdev-snapshot-sync' || name === 'blockdev-snapshot') {
    const one = actionOf(name, args, added);
    return one ? [one] : undefined;
  }
  if (name !== 'transaction' || !Array.isArray(args?.actions) || args.actions.length === 0) return undefined;
  const actions: SnapshotAction[] = [];
  for (const action of args.actions) {
    if (!isObject(action) || typeof action.type !== 'string' || !isObject(action.data)) return undefined;
    const one = actionOf(action.type, action.data, added);
    if (!one) return undefined;
    actions.push(one);
  }
  return actions;
}

function actionOf(type: string, data: Record<string, unknown> | undefined, added: ReadonlyMap<string, string>): SnapshotAction | undefined {
  if (type === 'blockdev-snapshot') {
    const overlay = data?.overlay;
    const file = typeof overlay === 'string' ? added.get(overlay) : undefined;
    if (typeof data?.node !== 'string' || file === undefined) return undefined;
    return { target: data.node, file, nodeName: overlay as string };
  }
  if (type !== 'blockdev-snapshot-sync') return undefined;
  const target = typeof data?.device === 'string' ? data.device : typeof data?.['node-name'] === 'string' ? data['node-name'] : undefined;
  const file = data?.['snapshot-file'];
  if (target === undefined || typeof file !== 'string') return undefined;
  const nodeName = typeof data?.['snapshot-node-name'] === 'string' ? data['snapshot-node-name'] : undefined;
  return { target, file, ...(nodeName !== undefined ? { nodeName } : {}) };
}

/**
 * The node a client's blockdev-add creates and the file it opens (a `file` child given inline, or a
 * node added before): undefined for anything else.
 */
export function addedNode(args: Record<string, unknown> | undefined, added: ReadonlyMap<string, string>): { node: string; file: string } | undefined {
  const node = args?.['node-name'];
  if (typeof node !== 'string') return undefined;
  if (typeof args?.filename === 'string') return { node, file: args.filename };
  const child = args?.file;
  if (typeof child === 'string') return added.has(child) ? { node, file: added.get(child)! } : undefined;
  return isObject(child) && typeof child.filename === 'string' ? { node, file: child.filename } : undefined;
}

/** Every snapshot the recording's QEMU took (successful commands), in order, with the graph around it. */
export function recordedSnapshots(script: Script, epochs: Epochs, graph: RecordedGraph): RecordedSnapshot[] {
  const found: RecordedSnapshot[] = [];
  for (const x of script.exchanges) {
    const actions = snapshotActions(x.name, x.args);
    if (!actions || !x.reply || !('return' in x.reply.msg)) continue;
    const epoch = epochs.before(x.reply.t);
    const epochAfter = epochs.at(x.reply.t);
    const before = graph.view(epoch);
    const after = graph.view(epochAfter);
    for (const action of actions) {
      found.push({ ...action, node: before.lookup(action.target), overlay: action.nodeName ?? after.resolve(action.file), epoch, epochAfter });
    }
  }
  return found;
}

/**
 * The client's names for recorded ones (node names, overlay files), shared by every connection as
 * QEMU's graph is. Node names are replaced where a value is the name; file names also inside longer
 * strings (a `json:{…}` filename, a backing file in a message).
 */
export class ClientNames {
  private readonly toClient = new Map<string, string>();
  private readonly toRecorded = new Map<string, string>();

  add(recorded: string, client: string): void {
    if (recorded === client) return;
    this.toClient.set(recorded, client);
    this.toRecorded.set(client, recorded);
  }

  get empty(): boolean {
    return this.toClient.size === 0;
  }

  /** What the client sent, in the recording's names. */
  inward<T>(value: T): T {
    return this.empty ? value : (map(value, (s) => this.toRecorded.get(s) ?? s) as T);
  }

  /** What the model answers, in the client's names. */
  outward<T>(value: T): T {
    if (this.empty) return value;
    const files = [...this.toClient].filter(([recorded]) => recorded.includes('/'));
    return map(value, (s) => {
      const exact = this.toClient.get(s);
      if (exact !== undefined) return exact;
      let out = s;
      for (const [recorded, client] of files) if (out.includes(recorded)) out = out.split(recorded).join(client);
      return out;
    }) as T;
  }
}

function map(value: unknown, f: (s: string) => string): unknown {
  if (typeof value === 'string') return f(value);
  if (Array.isArray(value)) return value.map((v) => map(v, f));
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = map(v, f);
    return out;
  }
  return value;
}
