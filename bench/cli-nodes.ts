// The shipped CLI on each supported node line, built once (by the node running the bench): `node -e 0`,
// `blocks`, `jobs` and `commit --active --pivot` on Node 20 and Node 24 (and 22 when present), all
// interleaved. The build's code cache is for the building node only; another node makes its own at its
// first run (scripts/cli-loader.cjs) — that first run is done before measuring and timed on its own.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fmt, interleave, loadNote, report, repoRoot, stats, verdict } from './common.js';
import { buildTemplate, freshChain, jobTimeMs, seedLayers, startGuest, timedLiveCommit, timeProcess } from './e2e.js';

/** The node binaries to compare: this one, and those QMPBJ_BENCH_NODES (colon-separated) or /opt/qmpbj/node-*\/bin/node name. */
function nodes(): Array<{ name: string; bin: string }> {
  const listed = process.env.QMPBJ_BENCH_NODES?.split(':').filter(Boolean) ?? ['/opt/qmpbj/node-22/bin/node', '/opt/qmpbj/node-24/bin/node'];
  const found = [process.execPath, ...listed.filter((bin) => existsSync(bin))];
  const byVersion = new Map<string, string>();
  for (const bin of found) {
    const version = spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim();
    if (version && !byVersion.has(version)) byVersion.set(version, bin);
  }
  return [...byVersion].map(([version, bin]) => ({ name: `node ${version}`, bin }));
}

export async function benchCliNodes(full: boolean): Promise<void> {
  const rounds = full ? 15 : 9;
  const layers = seedLayers(32);
  const work = mkdtempSync(path.join(os.tmpdir(), 'qbj-bench-nodes-'));
  const cache = path.join(work, 'cache'); // each node's own first-run cache, as a user's ~/.cache would hold it
  const template = path.join(work, 'template');
  const cli = path.join(repoRoot, 'dist', 'cli.cjs');
  const built = spawnSync(process.execPath, ['-p', `require(${JSON.stringify(cli)}).key`], { encoding: 'utf8' }).stdout.trim();
  buildTemplate(template, layers);
  const queryDir = path.join(work, 'query-guest');
  freshChain(template, queryDir, layers);
  const guest = await startGuest(queryDir);
  const socket = guest.socketPath;
  const lines = nodes();
  const jobMs = new Map<string, number[]>();
  const firstRun: string[] = [];
  let runNo = 0;

  // The CLI runs inherit this process's environment: its cache dir is the run's own.
  const savedCacheDir = process.env.QMPBJ_CACHE_DIR;
  process.env.QMPBJ_CACHE_DIR = cache;
  const timed = (bin: string, args: string[]): Promise<number> => timeProcess(bin, args);
  const commit = async (name: string, bin: string): Promise<number> => {
    const dir = path.join(work, `run-${runNo++}`);
    const args = (socket: string): string[] => [cli, '--socket', socket, 'commit', 'vda', '--active', '--pivot'];
    const run = await timedLiveCommit({ template, dir, layers, name }, (socket) => timed(bin, args(socket)), jobTimeMs);
    jobMs.set(name, [...(jobMs.get(name) ?? []), run.jobMs]);
    return run.wall;
  };

  const variants: Record<string, () => Promise<number>> = {};
  for (const { name, bin } of lines) {
    // The first run on a node whose V8 is not the build's makes that node's cache: timed here, not below.
    const key = spawnSync(bin, ['-p', `require(${JSON.stringify(cli)}).key`], { encoding: 'utf8' }).stdout.trim();
    const first = await timed(bin, [cli, '--socket', socket, 'jobs']);
    firstRun.push(`${name}: ${key === built ? "the build's cache" : `first run (makes its cache) ${fmt(first, 0)} ms`}`);
    variants[`${name} -e 0`] = () => timed(bin, ['-e', '0']);
    variants[`${name}: blocks`] = () => timed(bin, [cli, '--socket', socket, 'blocks']);
    variants[`${name}: jobs`] = () => timed(bin, [cli, '--socket', socket, 'jobs']);
    variants[`${name}: commit vda --active --pivot`] = () => commit(name, bin);
    // What this node got before the cache was keyed to it: V8 rejected the building node's cache, so no cache.
    variants[`${name}: jobs, no code cache`] = () => timeProcess('/usr/bin/env', ['QMPBJ_NO_CODE_CACHE=1', bin, cli, '--socket', socket, 'jobs']);
  }
  variants['env(1) alone'] = () => timeProcess('/usr/bin/env', ['QMPBJ_NO_CODE_CACHE=1', 'true']);
  let samples: Record<string, number[]>;
  try {
    samples = await interleave(rounds, variants);
  } finally {
    await guest.stop();
    rmSync(work, { recursive: true, force: true });
    if (savedCacheDir === undefined) delete process.env.QMPBJ_CACHE_DIR;
    else process.env.QMPBJ_CACHE_DIR = savedCacheDir;
  }
  const rows: string[][] = [];
  const goals: string[] = [];
  for (const { name } of lines) {
    const base = stats(samples[`${name} -e 0`]!).median;
    rows.push([`${name} -e 0`, fmt(base, 0), '–', '–']);
    const envMs = stats(samples['env(1) alone']!).median;
    for (const what of ['blocks', 'jobs', 'commit vda --active --pivot', 'jobs, no code cache']) {
      const key = `${name}: ${what}`;
      const job = what.startsWith('commit') ? (jobMs.get(name) ?? []) : [];
      // The no-cache row runs under env(1): its own median is taken off.
      const own = samples[key]!.map((wall, i) => wall - (job[i] ?? 0) - (what.endsWith('no code cache') ? envMs : 0));
      const s = stats(own);
      const over = s.median - base;
      rows.push([
        key,
        fmt(stats(samples[key]!).median, 0),
        job.length ? fmt(stats(job).median, 0) : '–',
        `${fmt(s.median, 0)} (${fmt(s.min, 0)}–${fmt(s.max, 0)}), node + ${fmt(over, 0)}`,
      ]);
      const limit = what.startsWith('commit') ? 30 : 20;
      if (what.endsWith('no code cache')) continue;
      goals.push(verdict(`${name}: \`${what}\` ≤ node + ${limit} ms`, over <= limit, `node + ${fmt(over, 0)} ms`));
    }
  }
  report(
    'The CLI on each node line (one build)',
    `npm run bench -- --only=nodes${full ? ' --full' : ''} (bench/cli-nodes.ts)`,
    ['variant', 'wall ms median', 'QEMU job ms median', "own wall ms median (min–max), over that node's -e 0"],
    rows,
    [
      `${rounds} rounds, every variant interleaved. Built once by ${process.version} (its cache: ${built}); every CLI run as \`NODE dist/cli.cjs …\` with QMPBJ_CACHE_DIR a fresh dir of the run. Before measuring, one run per node: ${firstRun.join('; ')}.`,
      `Own cost: wall time, minus QEMU's job time for a commit (JOB_STATUS_CHANGE "created" → BLOCK_JOB_COMPLETED on a second monitor). Commit: a fresh chain base.raw ← a ← b ← c (${layers.map((l) => l.dataMiB).join('/')} MiB) on a fresh guest per run, base.raw checked with qemu-io read -P after each; queries: one guest for the run.`,
      `"jobs, no code cache": the same command with QMPBJ_NO_CODE_CACHE=1 (through env(1), whose own median is taken off) — what a node other than the building one got before the cache was keyed to the node running it (V8 rejected the build's cache).`,
      loadNote(),
      ...goals,
    ],
  );
}
