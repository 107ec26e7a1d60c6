// `graph --json` on real QEMU: while an active commit runs, the device's root edge goes to the job's
// filter node (mirror_top), which the job owns (its "main node") and through which the device holds
// write; after the pivot the filter and the job are gone and the device sits on base, holding write.
// An intermediate commit held back by its speed shows its commit_top the same way.
import path from 'node:path';
import t, { type Test } from 'tap';
import { CommitJob } from '../src/jobs/index.js';
import type { BlockGraph, GraphNode } from '../src/block/graph.js';
import { buildSeedChain } from './helpers/chain.js';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';
import { driveArgs } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { driveDisk, rangeOf } from './helpers/range.js';

async function graphOf(t: Test, socket: string): Promise<BlockGraph> {
  const run = await runCli(['graph', '--json', '--socket', socket], 30_000);
  t.equal(run.code, 0, `graph should succeed; stderr: ${run.stderr}`);
  const [record] = jsonLines(run.stdout);
  t.equal(record?.type, 'graph', 'one graph record');
  return record as unknown as BlockGraph;
}

const deviceRoot = (graph: BlockGraph) => {
  const device = graph.nodes.find((n) => n.kind === 'device' || (n.kind === 'backend' && n.name === 'drive0'));
  const edge = graph.edges.find((e) => e.from === device?.id && e.role === 'root');
  return { edge, child: graph.nodes.find((n) => n.id === edge?.to) };
};
const filters = (graph: BlockGraph): GraphNode[] => graph.nodes.filter((n) => n.role === 'filter');

t.test('active commit: mirror_top owned by the job until the pivot', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, {
    dir,
    args: [...driveArgs(layers), '-device', 'virtio-blk-pci,drive=drive0,id=vd0', ...extraMonitorArgs(cli)],
    machine: 'pc',
  });
  const job = await CommitJob.start(client, rangeOf(await driveDisk(client, layers, 'drive0'), 4, 1), { jobId: 'merge0' });
  await job.waitUntilReady({ timeoutMs: 30_000 });

  const during = await graphOf(t, cli);
  t.equal(during.source, 'x-debug-query-block-graph', 'QEMU has x-debug-query-block-graph (unstable, not deprecated) on every stack');
  t.same(
    filters(during).map((n) => [n.driver, n.filterOf]),
    [['mirror_top', 'merge0']],
    "one filter node, the active commit's mirror_top, owned by the job",
  );
  const root = deviceRoot(during);
  t.equal(root.child?.driver, 'mirror_top', "the device sits on the job's filter");
  t.ok(root.edge?.perm?.includes('write'), `the device holds write on the filter; perm: ${JSON.stringify(root.edge?.perm)}`);
  const jobNode = during.nodes.find((n) => n.kind === 'job');
  t.same([jobNode?.name, jobNode?.jobType, jobNode?.status], ['merge0', 'commit', 'ready'], 'the job is in the graph with its type and status');
  const main = during.edges.find((e) => e.from === jobNode?.id && e.role === 'main node');
  t.equal(main?.to, filters(during)[0]?.id, "the job's main node is its filter");
  t.ok(Array.isArray(main?.perm) && Array.isArray(main?.sharedPerm), "the job's edges carry permissions");
  const target = during.edges.find((e) => e.from === jobNode?.id && e.role === 'target');
  t.equal(during.nodes.find((n) => n.id === target?.to)?.file, layers[0]!.file, "the job's target is base");

  await job.pivot({ timeoutMs: 30_000 });
  const after = await graphOf(t, cli);
  t.same(filters(after), [], 'no filter node after the pivot');
  t.same(
    after.nodes.filter((n) => n.kind === 'job'),
    [],
    'no job after the pivot',
  );
  const onBase = deviceRoot(after);
  t.same([onBase.child?.driver, onBase.child?.file], ['raw', layers[0]!.file], 'the device sits on base');
  t.ok(onBase.edge?.perm?.includes('write'), 'the device holds write on base');
});

t.test('intermediate commit: commit_top above the top while the job runs', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: [...driveArgs(layers), ...extraMonitorArgs(cli)] });
  // One byte a second: the job copies its first chunk and then waits, long enough to be looked at.
  const job = await CommitJob.start(client, rangeOf(await driveDisk(client, layers, 'drive0'), 3, 1), { jobId: 'merge1', speed: 1 });
  const during = await graphOf(t, cli);
  t.same(
    filters(during).map((n) => [n.driver, n.filterOf]),
    [['commit_top', 'merge1']],
    "the intermediate commit's commit_top, owned by the job",
  );
  const above = during.edges.find((e) => e.to === filters(during)[0]?.id && e.role === 'backing');
  t.equal(during.nodes.find((n) => n.id === above?.from)?.file, layers[3]!.file, 'commit_top sits below the active image, above the top');
  await job.cancel({ timeoutMs: 30_000 });
  t.same(filters(await graphOf(t, cli)), [], 'no filter once the job is cancelled');
});
