/* The block graph drawn: a terminal tree, graphviz's DOT, and SVG from DOT (graphviz as WebAssembly). */
import { realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { BlockGraph, GraphEdge, GraphNode } from '../../block/graph.js';
import { cliEntry } from '../entry.js';

function describe(node: GraphNode): string {
  switch (node.kind) {
    case 'device':
      return `device ${node.name}`;
    case 'export':
      return `export ${node.name}${node.driver ? ` (${node.driver})` : ''}`;
    case 'job':
      return `job ${node.name}${node.jobType ? ` (${node.jobType}, ${node.status ?? '?'})` : ''}`;
    case 'backend':
      return node.name ? `backend ${node.name}` : "backend (QEMU's own, no device)";
    case 'node': {
      const what = [node.driver, node.role === 'filter' ? 'filter' : undefined].filter(Boolean).join(' ');
      const owner = node.filterOf ? ` — filter of job ${node.filterOf}` : '';
      return `${node.name} ${what}${node.file && node.role !== 'filter' ? ` ${node.file}` : ''}${owner}`;
    }
  }
}

function perms(edge: GraphEdge): string {
  if (!edge.perm) return '';
  const held = edge.perm.length ? edge.perm.join(',') : 'none';
  return ` [holds ${held}; shares ${edge.sharedPerm?.length ? edge.sharedPerm.join(',') : 'none'}]`;
}

/** Parents first: devices, exports, jobs, other backends, then any node nothing points to. */
function roots(graph: BlockGraph): GraphNode[] {
  const order = ['device', 'export', 'job', 'backend', 'node'];
  const children = new Set(graph.edges.map((e) => e.to));
  return graph.nodes.filter((n) => n.kind !== 'node' || !children.has(n.id)).sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
}

/** The graph as an indented tree; a node reached twice is shown once and referred to after. */
export function renderGraphTree(graph: BlockGraph): string[] {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const shown = new Set<string>();
  const lines = [
    `Block graph (from ${graph.source}${graph.source === 'x-debug-query-block-graph' ? ", with each edge's permissions" : ', no permissions: this QEMU gave no x-debug-query-block-graph'})`,
  ];
  const walk = (id: string, prefix: string): void => {
    const out = graph.edges.filter((e) => e.from === id);
    out.forEach((edge, i) => {
      const last = i === out.length - 1;
      const child = byId.get(edge.to);
      if (!child) return;
      const again = shown.has(child.id);
      lines.push(`${prefix}${last ? '└─' : '├─'} ${edge.role}${perms(edge)} → ${again ? `${child.name} (shown above)` : describe(child)}`);
      if (again) return;
      shown.add(child.id);
      walk(child.id, `${prefix}${last ? '   ' : '│  '}`);
    });
  };
  for (const root of roots(graph)) {
    if (shown.has(root.id)) continue;
    shown.add(root.id);
    lines.push(describe(root));
    walk(root.id, '');
  }
  return lines;
}

const quote = (text: string): string => `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

function dotNode(node: GraphNode): string {
  const label =
    node.kind === 'node'
      ? [
          node.name,
          [node.driver, node.role === 'filter' ? '(filter)' : ''].filter(Boolean).join(' '),
          node.file && node.role !== 'filter' ? path.basename(node.file) : '',
          node.filterOf ? `filter of job ${node.filterOf}` : '',
        ]
          .filter(Boolean)
          .join('\\n')
      : describe(node);
  const style =
    node.kind === 'device'
      ? 'shape=box, style="rounded,filled", fillcolor="#dbeafe"'
      : node.kind === 'export'
        ? 'shape=box, style="rounded,filled", fillcolor="#e0e7ff"'
        : node.kind === 'job'
          ? 'shape=hexagon, style=filled, fillcolor="#fde68a"'
          : node.kind === 'backend'
            ? 'shape=box, style="dashed"'
            : node.role === 'filter'
              ? 'shape=box, style=filled, fillcolor="#fca5a5"'
              : node.role === 'protocol'
                ? 'shape=box, style=filled, fillcolor="#e5e7eb"'
                : 'shape=box, style=filled, fillcolor="#bbf7d0"';
  return `  ${quote(node.id)} [label=${quote(label).replace(/\\\\n/g, '\\n')}, ${style}];`;
}

/** The graph in graphviz's DOT language: parents above children, write permission drawn bold. */
export function renderGraphDot(graph: BlockGraph): string {
  const lines = ['digraph block_graph {', '  rankdir=TB; node [fontname="Helvetica", fontsize=11]; edge [fontname="Helvetica", fontsize=9];'];
  for (const node of graph.nodes) lines.push(dotNode(node));
  for (const edge of graph.edges) {
    const label = edge.perm ? `${edge.role}\\nholds: ${edge.perm.join(',') || 'none'}\\nshares: ${edge.sharedPerm?.join(',') || 'none'}` : edge.role;
    const job = graph.nodes.find((n) => n.id === edge.from)?.kind === 'job';
    const style = [job ? 'style=dashed' : '', edge.perm?.includes('write') ? 'penwidth=2.5, color="#b91c1c"' : ''].filter(Boolean).join(', ');
    lines.push(`  ${quote(edge.from)} -> ${quote(edge.to)} [label=${quote(label).replace(/\\\\n/g, '\\n')}${style ? `, ${style}` : ''}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

interface GraphvizModule {
  Graphviz: { load(): Promise<{ dot(source: string, format?: string): string }> };
}

/** DOT laid out as SVG by graphviz compiled to WebAssembly (no system graphviz; loaded only here). */
export async function dotToSvg(dot: string): Promise<string> {
  // Kept out of the CLI bundle (2 MB of WebAssembly): required from the package's node_modules, found
  // from the real path of the running CLI (a global install runs it through a symlink), only when asked.
  const require = createRequire(cliEntry ? realpathSync(cliEntry) : path.join(process.cwd(), 'package.json'));
  const { Graphviz } = require('@hpcc-js/wasm-graphviz') as GraphvizModule;
  const graphviz = await Graphviz.load();
  return graphviz.dot(dot, 'svg');
}
