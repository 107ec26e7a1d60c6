/*
 * Graph hygiene after a job: the nodes a job took out of a disk's chain (the old top after a
 * pivot, the merged intermediates, a pulled chain, a copy's source after its pivot) stay open on a
 * -blockdev guest — QEMU's monitor still holds them, with their backing images write-locked — until
 * someone deletes them. libvirt does, top down; so do we, once nothing uses them. -drive guests
 * never keep them (their nodes belong to the drive), so there is nothing to find.
 */
import type { QmpClient } from '../protocol/client.js';
import type { XDbgBlockGraph } from '../qapi/types.js';

export interface NodeCleanup {
  /** Nodes deleted (blockdev-del), in the order they went. */
  removed: string[];
  /** Nodes that left the chain but stay in QEMU, and why (in use, not ours to delete, unknown). */
  kept: Array<{ node: string; why: string }>;
}

/**
 * The named block-driver nodes under `roots` in `graph` (the roots included): what goes with them,
 * a format node's storage node say. Not through backing links: the layers below are named as
 * roots when they left too, and otherwise stay in the chain.
 */
function withChildren(graph: XDbgBlockGraph, roots: readonly string[]): string[] {
  const byName = new Map(graph.nodes.filter((n) => n.type === 'block-driver' && n.name && !n.name.startsWith('#')).map((n) => [n.name, n]));
  const found = new Set<string>();
  const visit = (name: string): void => {
    const node = byName.get(name);
    if (!node || found.has(name)) return;
    found.add(name);
    for (const edge of graph.edges) {
      if (edge.parent !== node.id || edge.name === 'backing') continue;
      const child = graph.nodes.find((n) => n.id === edge.child);
      if (child?.name) visit(child.name);
    }
  };
  for (const root of roots) visit(root);
  return [...found];
}

/**
 * Deletes `nodeNames` (and the named nodes below them) once nothing uses them: the graph is re-read
 * before each round, and only a node with no parent at all (no device, drive, export, job or other
 * node above it) is deleted, so the roots go first and their children after. A node QEMU refuses to
 * delete is kept and said. Never throws.
 */
export async function removeNodesLeftBehind(client: QmpClient, nodeNames: readonly string[], timeoutMs: number): Promise<NodeCleanup> {
  const result: NodeCleanup = { removed: [], kept: [] };
  if (!nodeNames.length) return result;
  let graph: XDbgBlockGraph;
  try {
    graph = await client.execute('x-debug-query-block-graph', undefined, { timeoutMs });
  } catch (error) {
    return { removed: [], kept: nodeNames.map((node) => ({ node, why: `the block graph cannot be read (${(error as Error).message})` })) };
  }
  const pending = new Set(withChildren(graph, nodeNames));
  for (;;) {
    const present = new Map(graph.nodes.filter((n) => n.type === 'block-driver').map((n) => [n.name, n.id]));
    for (const name of pending) if (!present.has(name)) pending.delete(name); // gone with its parent (or never ours)
    const free = [...pending].filter((name) => !graph.edges.some((e) => e.child === present.get(name)));
    if (!free.length) break;
    for (const node of free) {
      pending.delete(node);
      try {
        await client.execute('blockdev-del', { 'node-name': node }, { timeoutMs });
        result.removed.push(node);
      } catch (error) {
        result.kept.push({ node, why: (error as Error).message });
      }
    }
    try {
      graph = await client.execute('x-debug-query-block-graph', undefined, { timeoutMs });
    } catch (error) {
      for (const node of pending) result.kept.push({ node, why: `the block graph cannot be read (${(error as Error).message})` });
      return result;
    }
  }
  // Still used by something (another disk's chain, an export, a job): theirs now, not ours to delete.
  for (const node of pending) result.kept.push({ node, why: 'still in use' });
  return result;
}

/** `result` with `nodes` deleted once unused (removeNodesLeftBehind), and what became of them. */
export async function withNodesRemoved<R extends { nodes?: NodeCleanup | undefined }>(
  client: QmpClient,
  result: R,
  nodes: readonly string[],
  timeoutMs: number,
): Promise<R> {
  return nodes.length ? { ...result, nodes: await removeNodesLeftBehind(client, nodes, timeoutMs) } : result;
}
