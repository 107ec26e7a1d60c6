// `graph` against mock-qmp's model of each recorded QEMU (test/fixtures/qemu-*/active-commit-pivot,
// with the set's recorded schema): the transcripts never asked x-debug-query-block-graph, so the graph
// comes from query-named-block-nodes — by its `children` where that QEMU's schema lists the member,
// else by file names — and shows the device on the chain QEMU had: every image, top to base, each
// on its file node. The tree, DOT and SVG forms name the same nodes.
import path from 'node:path';
import t from 'tap';
import type { BlockGraph } from '../src/block/graph.js';
import { graphQueriesOf } from '../src/block/graph.js';
import { fixturePath, fixtureSets } from './helpers/qemu.js';
import { readTrace, serveTrace } from './helpers/replay.js';
import { jsonLines, runCli } from './helpers/cli.js';

for (const set of fixtureSets()) {
  t.test(`${set}: graph of the model of active-commit-pivot`, async (t) => {
    const trace = readTrace(fixturePath('active-commit-pivot.jsonl', set));
    const schemaTrace = readTrace(fixturePath('schema.jsonl', set));
    const schemaReply = schemaTrace.messages.find(
      (m) => m.dir === 'in' && Array.isArray(m.msg.return) && (m.msg.return as Array<{ 'meta-type'?: string }>).some((e) => e['meta-type'] === 'command'),
    );
    const queries = graphQueriesOf(schemaReply!.msg.return as never);
    t.ok(queries.debugGraph, `${set}'s schema lists x-debug-query-block-graph`);
    const server = await serveTrace(t, { trace, model: true, schema: schemaTrace });
    const run = await runCli(['graph', '--json', '--socket', server.path!], 30_000);
    t.equal(run.code, 0, `graph should succeed; stderr: ${run.stderr}`);
    const graph = jsonLines(run.stdout)[0] as unknown as BlockGraph;
    t.equal(graph.source, 'query-named-block-nodes', 'the transcript has no x-debug-query-block-graph reply: the named nodes are used');
    const named = trace.messages.find(
      (m) => m.dir === 'in' && Array.isArray(m.msg.return) && (m.msg.return as Array<{ drv?: string }>).some((n) => n.drv === 'qcow2'),
    );
    const hasChildren = (named!.msg.return as Array<{ children?: unknown }>).every((n) => Array.isArray(n.children));
    t.equal(queries.namedNodeChildren, hasChildren, 'the schema lists `children` exactly where the recorded QEMU answered with it');
    const images = (named!.msg.return as Array<{ drv: string; file: string }>)
      .filter((n) => n.drv === 'qcow2' || n.drv === 'raw')
      .map((n) => path.basename(n.file));
    const device = graph.nodes.find((n) => n.kind === 'device');
    t.ok(device, 'the guest device is in the graph');
    const chain: string[] = [];
    let at = graph.edges.find((e) => e.from === device?.id && e.role === 'root')?.to;
    while (at) {
      const node = graph.nodes.find((n) => n.id === at);
      chain.push(path.basename(node?.file ?? '?'));
      const file = graph.edges.find((e) => e.from === at && e.role === 'file');
      t.equal(graph.nodes.find((n) => n.id === file?.to)?.driver, 'file', `${node?.name} stands on its file node`);
      at = graph.edges.find((e) => e.from === at && e.role === 'backing')?.to;
    }
    t.same(chain, ['c.qcow2', 'b.qcow2', 'a.qcow2', 'base.raw'], 'root → backing edges walk the recorded chain top to base');
    t.same([...chain].sort(), [...images].sort(), 'every recorded image node is on it');
    const tree = await runCli(['graph', '--socket', server.path!], 30_000);
    const dot = await runCli(['graph', '--format', 'dot', '--socket', server.path!], 30_000);
    const svg = await runCli(['graph', '--format', 'svg', '--socket', server.path!], 60_000);
    t.equal(svg.code, 0, `graph --format svg should succeed (graphviz as WebAssembly); stderr: ${svg.stderr}`);
    t.match(svg.stdout, /<svg [\s\S]*<\/svg>\s*$/, 'an SVG document');
    for (const node of graph.nodes.filter((n) => n.kind === 'node')) {
      t.match(tree.stdout, node.name, `the tree shows ${node.name}`);
      t.match(dot.stdout, `"${node.id}"`, `the DOT graph has ${node.name}`);
      t.match(svg.stdout, `>${node.name}</text>`, `the SVG draws ${node.name}`);
    }
  });
}
