/*
 * The block graph of a live QEMU: devices, exports, jobs, filter, format and protocol nodes, and the
 * edges between them with the permissions each parent holds on its child and lets others share.
 * Read from `x-debug-query-block-graph` where the schema has it (the only query that shows who holds
 * which permission; `x-` means unstable, not deprecated, so QEMU's deprecation policy leaves it be),
 * else rebuilt from `query-named-block-nodes` (its `children` where the schema lists that member,
 * QEMU 10.1+; else backing and file links matched by file name) and `query-block-exports`.
 */
import { QmpCommandError } from '../errors.js';
import type { QmpClient } from '../protocol/client.js';
import { isProtocolDriver } from '../protocol/capabilities.js';
import type { BlockDeviceInfo, BlockExportInfo, BlockInfo, BlockJobInfo, XDbgBlockGraph } from '../qapi/types.js';
import { isFilterDriver } from './chain.js';

export type GraphNodeKind = 'device' | 'backend' | 'export' | 'job' | 'node';
/** What a block node is: a filter (commit_top, mirror_top, throttle …), an image format or a protocol. */
export type NodeRole = 'filter' | 'format' | 'protocol';

export interface GraphNode {
  /** Unique within the graph: `node:NAME`, `device:QOM-PATH`, `backend:N`, `export:ID`, `job:ID`. */
  id: string;
  kind: GraphNodeKind;
  /** The node name, device id, export id or job id as QEMU names it. */
  name: string;
  driver?: string;
  role?: NodeRole;
  file?: string;
  /** Jobs: type and status; filter nodes: the job whose filter this is. */
  jobType?: string;
  status?: string;
  filterOf?: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  /** The child's role in its parent: backing, file, root, main node, target … */
  role: string;
  /** Permissions the parent holds and shares (only where x-debug-query-block-graph answered). */
  perm?: string[];
  sharedPerm?: string[];
}

export interface BlockGraph {
  source: 'x-debug-query-block-graph' | 'query-named-block-nodes';
  nodes: GraphNode[];
  edges: GraphEdge[];
}

interface SchemaEntry {
  name: string;
  'meta-type': string;
  'ret-type'?: string;
  'element-type'?: string;
  members?: Array<{ name: string }>;
}

/** What this QEMU's schema offers for drawing the graph. */
export interface GraphQueries {
  debugGraph: boolean;
  namedNodeChildren: boolean;
  exports: boolean;
}

/** The graph queries a schema offers (exported for tests over recorded schemas). */
export function graphQueriesOf(schema: readonly SchemaEntry[]): GraphQueries {
  const byName = new Map(schema.map((e) => [e.name, e]));
  const named = byName.get('query-named-block-nodes');
  const list = named?.['ret-type'] ? byName.get(named['ret-type']) : undefined;
  const element = list?.['element-type'] ? byName.get(list['element-type']) : undefined;
  const isCommand = (name: string): boolean => byName.get(name)?.['meta-type'] === 'command';
  return {
    debugGraph: isCommand('x-debug-query-block-graph'),
    namedNodeChildren: element?.members?.some((m) => m.name === 'children') ?? false,
    exports: isCommand('query-block-exports'),
  };
}

function roleOf(driver: string): NodeRole {
  return isFilterDriver(driver) ? 'filter' : isProtocolDriver(driver) ? 'protocol' : 'format';
}

type NamedNode = BlockDeviceInfo & { children?: Array<{ child: string; 'node-name': string }> };

/** Reads the graph; `timeoutMs` bounds each query. */
export async function readBlockGraph(client: QmpClient, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<BlockGraph> {
  const call = { ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}), ...(options.signal ? { signal: options.signal } : {}) };
  // A peer without a schema (a replayed transcript that never asked) gets the queries every QEMU has.
  const schema = await client.executeUntyped('query-qmp-schema', {}, call).catch((error: unknown) => {
    if (error instanceof QmpCommandError) return [];
    throw error;
  });
  const queries = graphQueriesOf(schema as SchemaEntry[]);
  const [named, blocks, jobs, exports] = await Promise.all([
    client.execute('query-named-block-nodes', { flat: true }, call) as Promise<NamedNode[]>,
    client.execute('query-block', {}, call),
    client.execute('query-block-jobs', {}, call),
    queries.exports ? client.execute('query-block-exports', {}, call) : Promise.resolve([] as BlockExportInfo[]),
  ]);
  let debug: XDbgBlockGraph | undefined;
  if (queries.debugGraph) {
    // A peer that lists it and cannot answer (a replayed transcript that never asked) gets the other path.
    debug = await client.execute('x-debug-query-block-graph', {}, call).catch((error: unknown) => {
      if (error instanceof QmpCommandError) return undefined;
      throw error;
    });
  }
  return debug ? fromDebugGraph(debug, named, blocks, jobs, exports) : fromNamedNodes(named, blocks, jobs, exports, queries.namedNodeChildren);
}

function imageNode(n: BlockDeviceInfo): GraphNode {
  return { id: `node:${n['node-name'] ?? ''}`, kind: 'node', name: n['node-name'] ?? '', driver: n.drv, role: roleOf(n.drv), file: n.file };
}

function deviceNode(block: BlockInfo): GraphNode {
  const name = block.qdev?.match(/^\/machine\/peripheral(?:-anon)?\/([^/]+)/)?.[1] ?? (block.device || block.qdev || '?');
  return { id: `device:${block.qdev ?? block.device}`, kind: 'device', name };
}

function jobNode(job: BlockJobInfo | undefined, name: string): GraphNode {
  return { id: `job:${name}`, kind: 'job', name, ...(job ? { jobType: job.type, status: job.status } : {}) };
}

/** The graph from x-debug-query-block-graph, with drivers and files from the named nodes. */
export function fromDebugGraph(
  debug: XDbgBlockGraph,
  named: readonly BlockDeviceInfo[],
  blocks: readonly BlockInfo[],
  jobs: readonly BlockJobInfo[],
  exports: readonly BlockExportInfo[],
): BlockGraph {
  const byNodeName = new Map(named.map((n) => [n['node-name'], n]));
  const idOf = new Map<number, string>();
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  for (const n of debug.nodes) {
    if (n.type === 'block-driver') {
      const info = byNodeName.get(n.name);
      const node: GraphNode = info ? imageNode(info) : { id: `node:${n.name}`, kind: 'node', name: n.name };
      idOf.set(n.id, node.id);
      nodes.push(node);
    } else if (n.type === 'block-job') {
      const node = jobNode(
        jobs.find((j) => j.device === n.name),
        n.name,
      );
      idOf.set(n.id, node.id);
      nodes.push(node);
    }
  }
  for (const n of debug.nodes) {
    if (n.type !== 'block-backend') continue;
    const root = debug.edges.find((e) => e.parent === n.id);
    const child = root ? debug.nodes.find((d) => d.id === root.child)?.name : undefined;
    // A backend stands for who uses it: a guest device, an export, else QEMU's own (a job's target).
    const block = blocks.find((b) => (n.name !== '' && b.device === n.name) || (n.name === '' && b.inserted?.['node-name'] === child && b.qdev));
    const exported = n.name === '' ? exports.find((x) => x['node-name'] === child && !nodes.some((m) => m.id === `export:${x.id}`)) : undefined;
    const node: GraphNode = block
      ? deviceNode(block)
      : exported
        ? { id: `export:${exported.id}`, kind: 'export', name: exported.id, driver: exported.type }
        : { id: `backend:${n.id}`, kind: 'backend', name: n.name };
    idOf.set(n.id, node.id);
    nodes.push(node);
  }
  for (const e of debug.edges) {
    const from = idOf.get(e.parent);
    const to = idOf.get(e.child);
    if (from && to) edges.push({ from, to, role: e.name, perm: e.perm, sharedPerm: e['shared-perm'] });
  }
  // The active commit's mirror_top is its job's "main node"; an intermediate commit's commit_top has
  // no edge from the job: it sits above the job's top, which the job holds ("intermediate node").
  const jobOf = (id: string | undefined): string | undefined => nodes.find((n) => n.kind === 'job' && edges.some((e) => e.from === n.id && e.to === id))?.name;
  for (const node of nodes) {
    if (node.role !== 'filter') continue;
    const below = edges.find((e) => e.from === node.id && (e.role === 'backing' || e.role === 'file'))?.to;
    const owner = jobOf(node.id) ?? (node.driver === 'commit_top' || node.driver === 'mirror_top' ? jobOf(below) : undefined);
    if (owner !== undefined) node.filterOf = owner;
  }
  return { source: 'x-debug-query-block-graph', nodes, edges };
}

/** The graph from query-named-block-nodes: `children` where QEMU gives it, else links matched by file name. */
export function fromNamedNodes(
  named: readonly NamedNode[],
  blocks: readonly BlockInfo[],
  jobs: readonly BlockJobInfo[],
  exports: readonly BlockExportInfo[],
  children: boolean,
): BlockGraph {
  const nodes: GraphNode[] = named.map(imageNode);
  const edges: GraphEdge[] = [];
  for (const n of named) {
    const from = `node:${n['node-name'] ?? ''}`;
    if (children) {
      for (const c of n.children ?? []) edges.push({ from, to: `node:${c['node-name']}`, role: c.child });
      continue;
    }
    // Without `children`: the backing file's format node, and the protocol node of the same file.
    if (n.backing_file) {
      const below = named.find((m) => m !== n && m.file === n.backing_file && !isFilterDriver(m.drv) && !isProtocolDriver(m.drv));
      if (below) edges.push({ from, to: `node:${below['node-name'] ?? ''}`, role: 'backing' });
    }
    if (!isProtocolDriver(n.drv) && !isFilterDriver(n.drv)) {
      const file = named.find((m) => m !== n && m.file === n.file && isProtocolDriver(m.drv));
      if (file) edges.push({ from, to: `node:${file['node-name'] ?? ''}`, role: 'file' });
    }
  }
  for (const block of blocks) {
    const top = block.inserted?.['node-name'];
    if (!top) continue;
    const device = deviceNode(block);
    nodes.push(device);
    edges.push({ from: device.id, to: `node:${top}`, role: 'root' });
  }
  for (const x of exports) {
    nodes.push({ id: `export:${x.id}`, kind: 'export', name: x.id, driver: x.type });
    edges.push({ from: `export:${x.id}`, to: `node:${x['node-name']}`, role: 'root' });
  }
  // Which filter is whose is not in these queries; a lone job owns the lone job filter.
  const filters = nodes.filter((n) => n.driver === 'commit_top' || n.driver === 'mirror_top');
  for (const job of jobs) {
    const node = jobNode(job, job.device);
    nodes.push(node);
    if (jobs.length === 1 && filters.length === 1) {
      filters[0]!.filterOf = job.device;
      edges.push({ from: node.id, to: filters[0]!.id, role: 'main node' });
    }
  }
  return { source: 'query-named-block-nodes', nodes, edges };
}

/** The part of the graph connected to any of `seeds` (node ids), edges taken both ways. */
export function connectedPart(graph: BlockGraph, seeds: readonly string[]): BlockGraph {
  const keep = new Set(seeds.filter((s) => graph.nodes.some((n) => n.id === s)));
  const todo = [...keep];
  while (todo.length) {
    const id = todo.pop()!;
    for (const e of graph.edges) {
      const other = e.from === id ? e.to : e.to === id ? e.from : undefined;
      if (other !== undefined && !keep.has(other)) {
        keep.add(other);
        todo.push(other);
      }
    }
  }
  return { source: graph.source, nodes: graph.nodes.filter((n) => keep.has(n.id)), edges: graph.edges.filter((e) => keep.has(e.from) && keep.has(e.to)) };
}
