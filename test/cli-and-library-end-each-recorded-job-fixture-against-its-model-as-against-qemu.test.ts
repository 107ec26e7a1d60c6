// The CLI (the library where the CLI has no such command: a kept job, on-error stop) against the
// model of each job fixture mock-qmp/record-fixtures.ts recorded with a plain QmpClient (QEMU 7.2 and
// 10.0, each now with the graph read before its first job): the job ends as it ended on that QEMU,
// through the states QEMU went through, and the chain a second client then reads is QEMU's after it.
import path from 'node:path';
import t from 'tap';
import { connect } from '../src/connect.js';
import { resolveCommitRange } from '../src/block/address.js';
import { resolveDisk } from '../src/block/chain.js';
import { CommitJob, type CommitOptions } from '../src/jobs/index.js';
import { withoutBlips } from '../src/jobs/state.js';
import type { JobStatus } from '../src/qapi/types.js';
import type { Trace } from '../mock-qmp/index.js';
import { fixturePath, fixtureSets } from './helpers/qemu.js';
import { drainBlips, readTrace, serveTrace } from './helpers/replay.js';
import { jsonLines, runCli } from './helpers/cli.js';

const WAIT = { timeoutMs: 15_000 };

interface Ended {
  code?: number;
  outcome?: string;
  states?: JobStatus[];
  error?: string;
}

interface Case {
  file: string;
  /** What the client runs, for the test's name. */
  how: string;
  disk: string;
  run(socket: string, trace: Trace): Promise<Ended>;
  code?: number;
  outcome?: string;
  error?: RegExp;
  /** Check the states although the job had no outcome (QEMU went away): the ones seen until then. */
  statesUntilGone?: boolean;
  /** The chain afterwards, base first, by image file name (by node name for -blockdev nodes, whose blkdebug file is a json: name); none when QEMU is gone. */
  after?: string[];
  afterBy?: 'file' | 'node';
}

async function cli(socket: string, args: readonly string[]): Promise<Ended> {
  const run = await runCli(['--json', ...args, '--socket', socket], 30_000);
  const lines = jsonLines(run.stdout);
  const result = lines.find((l) => l.type === 'result');
  // A job cut short has no result states: the JOB_STATUS_CHANGE events the CLI printed are what it saw.
  const printed = lines.filter((l) => l.event === 'JOB_STATUS_CHANGE').map((l) => (l.data as { status: JobStatus }).status);
  const states = (result?.states as JobStatus[] | undefined) ?? (result?.outcome === undefined ? printed : undefined);
  return { code: run.code ?? undefined, outcome: result?.outcome as string | undefined, states, error: `${String(result?.error ?? '')} ${run.stderr}` };
}

/** The library's active commit with a pivot, as a client that keeps its concluded job. */
async function keptPivot(socket: string): Promise<Ended> {
  const client = await connect({ path: socket }, { connectTimeoutMs: 5000 });
  try {
    const options: CommitOptions = { autoFinalize: false, autoDismiss: false };
    const job = await CommitJob.start(client, resolveCommitRange(await resolveDisk(client, 'drive0', WAIT), {}), options);
    await job.waitUntilReady(WAIT);
    const result = await job.pivot(WAIT);
    return { outcome: result.outcome, states: withoutBlips(result.history) };
  } finally {
    await client.close();
  }
}

/** The library's intermediate commit n3 into n2 with on-error stop: paused on the error, resumed. */
async function stopAndResume(socket: string): Promise<Ended> {
  const client = await connect({ path: socket }, { connectTimeoutMs: 5000 });
  try {
    const range = resolveCommitRange(await resolveDisk(client, 'n4', WAIT), { topNode: 'n3', baseNode: 'n2' });
    const job = await CommitJob.start(client, range, { onError: 'stop' });
    await job.waitForErrorStop(WAIT);
    await job.resume();
    const result = await job.wait(WAIT);
    return { outcome: result.outcome, states: withoutBlips(result.history) };
  } finally {
    await client.close();
  }
}

/** The recorded snapshots and guest writes, each as its own `qmp-blockjob qmp`, then the CLI's pivot. */
async function snapshotsThenPivot(socket: string, trace: Trace): Promise<Ended> {
  const steps = trace.messages.filter((m) => m.dir === 'out' && ['blockdev-snapshot-sync', 'human-monitor-command'].includes(String(m.msg.execute)));
  for (const step of steps) {
    const run = await runCli(['qmp', JSON.stringify({ execute: step.msg.execute, arguments: step.msg.arguments }), '--socket', socket], 15_000);
    if (run.code !== 0) return { code: run.code ?? undefined, error: `qmp ${String(step.msg.execute)} failed: ${run.stderr}` };
  }
  return cli(socket, ['commit', 'drive0', '--active', '--pivot']);
}

const chain = ['base.raw', 'a.qcow2', 'b.qcow2', 'c.qcow2'];

const cases: Case[] = [
  {
    file: 'active-commit-pivot',
    how: 'qmp-blockjob commit drive0 --active --pivot',
    disk: 'drive0',
    run: (s) => cli(s, ['commit', 'drive0', '--active', '--pivot']),
    code: 0,
    outcome: 'pivoted',
    after: ['base.raw'],
  },
  {
    file: 'active-commit-manual-finalize',
    how: 'CommitJob autoFinalize/autoDismiss false, pivot',
    disk: 'drive0',
    run: keptPivot,
    outcome: 'pivoted',
    after: ['base.raw'],
  },
  {
    file: 'cancel-after-ready',
    how: 'qmp-blockjob commit drive0 --active --keep-overlay',
    disk: 'drive0',
    run: (s) => cli(s, ['commit', 'drive0', '--active', '--keep-overlay']),
    code: 0,
    outcome: 'overlay-kept',
    after: chain,
  },
  {
    file: 'intermediate-commit',
    how: 'qmp-blockjob commit drive0 --top b.qcow2 --base base.raw --wait',
    disk: 'drive0',
    run: (s) => cli(s, ['commit', 'drive0', '--top', 'b.qcow2', '--base', 'base.raw', '--wait']),
    code: 0,
    outcome: 'completed',
    after: ['base.raw', 'c.qcow2'],
  },
  {
    file: 'io-error-stop',
    how: 'CommitJob onError stop, resume',
    disk: 'n4',
    run: stopAndResume,
    outcome: 'completed',
    after: ['n1', 'n2', 'n4'],
    afterBy: 'node',
  },
  {
    file: 'qemu-killed-mid-job',
    how: 'qmp-blockjob commit drive0 --active --pivot',
    disk: 'drive0',
    run: (s) => cli(s, ['commit', 'drive0', '--active', '--pivot']),
    code: 1,
    error: /interrupted while running: the connection to QEMU was lost/,
    statesUntilGone: true,
  },
  {
    file: 'snapshot-then-commit',
    how: 'qmp-blockjob qmp (snapshots, writes), then commit drive0 --active --pivot',
    disk: 'drive0',
    run: snapshotsThenPivot,
    code: 0,
    outcome: 'pivoted',
    after: ['base.raw'],
  },
];

for (const set of fixtureSets())
  for (const c of cases) {
    t.test(`${set}/${c.file}: ${c.how}`, async (t) => {
      const trace = readTrace(fixturePath(`${c.file}.jsonl`, set));
      const firstJob = trace.messages.findIndex((m) => m.dir === 'out' && m.msg.execute === 'block-commit');
      t.ok(
        trace.messages.slice(0, firstJob).some((m) => m.dir === 'out' && m.msg.execute === 'query-named-block-nodes'),
        'the fixture should carry the graph from before its first job',
      );
      const blips = drainBlips(trace);
      const recordedStates = trace.messages
        .filter((m) => m.dir === 'in' && m.msg.event === 'JOB_STATUS_CHANGE' && !blips.has(m))
        .map((m) => (m.msg.data as { status: JobStatus }).status);
      const server = await serveTrace(t, { trace, model: true });
      const ended = await c.run(server.path!, trace);
      if (c.code !== undefined) t.equal(ended.code, c.code, `exit status; ${ended.error ?? ''}`);
      if (c.outcome) t.equal(ended.outcome, c.outcome, `the outcome should be QEMU's; ${ended.error ?? ''}`);
      if (c.outcome || c.statesUntilGone) t.same(ended.states, recordedStates, 'the job should go through the states QEMU went through');
      if (c.error) t.match(ended.error, c.error, "the failure should say what QEMU's did");
      if (!c.after) return;
      const client = await connect({ path: server.path! }, { connectTimeoutMs: 5000 });
      t.teardown(() => client.close());
      const disk = await resolveDisk(client, c.disk, WAIT);
      t.same(
        disk.layers.map((l) => (c.afterBy === 'node' ? l.nodeName : path.basename(l.file))),
        c.after,
        `the next query-block should show ${c.disk} on the chain QEMU had after the job`,
      );
      t.same(await client.execute('query-jobs'), [], 'no job should be left: the client dismissed it or QEMU did');
    });
  }
