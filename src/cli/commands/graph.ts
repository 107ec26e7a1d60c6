import { connectedPart, readBlockGraph } from '../../block/graph.js';
import { UsageError } from '../args.js';
import { stringOption, type CommandSpec } from '../context.js';
import { cliDisk } from '../disks.js';
import { dotToSvg, renderGraphDot, renderGraphTree } from '../pictures/graph-view.js';
import type { GraphRecord } from '../records.js';

const FORMATS = ['tree', 'dot', 'svg', 'json'] as const;
type GraphFormat = (typeof FORMATS)[number];

export const graphCommand: CommandSpec = {
  name: 'graph',
  summary: 'show the live block graph: devices, exports, jobs and their filter nodes, images, with permissions',
  usage: 'graph [DISK] [--format tree|dot|svg|json]',
  details: `Without DISK, the whole graph; with DISK (as in 'chain'), the part connected to its chain.
Each edge shows the child's role (backing, file, root, main node …) and, where QEMU has
x-debug-query-block-graph, the permissions the parent holds on the child and lets others share:
during a commit the job's filter node (commit_top, mirror_top) and who holds write.
Otherwise the graph is rebuilt from query-named-block-nodes (and its children where QEMU lists them).
--format tree (default) | dot (graphviz) | svg (laid out by graphviz as WebAssembly, no system graphviz)
| json (the same as --json).`,
  examples: [
    'qmp-blockjob --socket /tmp/qmp.sock graph',
    'qmp-blockjob --socket /tmp/qmp.sock graph vda --format svg > vda-graph.svg',
    'qmp-blockjob --socket /tmp/qmp.sock graph --json',
  ],
  options: { format: { type: 'string' } },
  async run(context) {
    const [diskName, ...extra] = context.positionals;
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`, 'graph');
    const format = (stringOption(context, 'format') ?? (context.out.json ? 'json' : 'tree')) as GraphFormat;
    if (!FORMATS.includes(format)) throw new UsageError(`--format is one of ${FORMATS.join(', ')}, got '${format}'`, 'graph');
    const client = await context.connect();
    let graph = await readBlockGraph(client, { signal: context.signal });
    if (diskName !== undefined) {
      const { disk } = await cliDisk(context, client, diskName);
      graph = connectedPart(
        graph,
        disk.layers.map((l) => `node:${l.nodeName}`),
      );
    }
    if (format === 'json') {
      const record: GraphRecord = { type: 'graph', ...(diskName !== undefined ? { disk: diskName } : {}), ...graph };
      context.out.text(`${JSON.stringify(record)}\n`);
    } else if (format === 'dot') {
      context.out.text(renderGraphDot(graph));
    } else if (format === 'svg') {
      context.out.text(await dotToSvg(renderGraphDot(graph)));
    } else {
      context.out.text(`${renderGraphTree(graph).join('\n')}\n`);
    }
    return 0;
  },
};
