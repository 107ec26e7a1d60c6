// The CLI's own cost (issue #18): whole-process wall time of `qmp-blockjob commit --active --pivot`,
// `blocks`, `chain` and `jobs` beside `node -e 0` (node's start-up alone) and the system's python3 on a
// raw socket doing the same QMP work (bench/raw-qmp.py), and the `--domain` connect (virsh children and
// the event-stream probe), all interleaved in one run. For a commit the overhead is the wall time minus
// QEMU's own job time (its event timestamps on a second monitor, as in bench/e2e.ts).
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';

import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fmt, interleave, loadNote, report, repoRoot, stats, verdict } from './common.js';
import { buildTemplate, connectRetrying, freshChain, jobTimeMs, libvirtUnavailable, seedLayers, startGuest, timeProcess, verifyBase, waitFor } from './e2e.js';
import { testDomainXml } from '../test/helpers/libvirt.js';

const run = promisify(execFile);
const VIRSH_URI = 'qemu:///system';
/** The system's python3 (a version manager's shim on PATH would add its own start-up to the floor). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

interface DomainConnect {
  connectMs: number;
  eventsReadyMs: number;
  probeRounds: number;
}

/** One `--domain` connect in its own process: its wall time, and the transport's own timings. */
function domainConnect(script: string, domain: string): Promise<{ wall: number; info: DomainConnect }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    let out = '';
    let err = '';
    const child = spawn(process.execPath, [script, domain, VIRSH_URI], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      const wall = Number(process.hrtime.bigint() - start) / 1e6;
      if (code === 0) resolve({ wall, info: JSON.parse(out) as DomainConnect });
      else reject(new Error(`domain-connect exited ${code}: ${err.trim()}`));
    });
  });
}

export async function benchCli(full: boolean): Promise<void> {
  const rounds = full ? 15 : 7;
  // The chain shape scaled down by 32: the job's own time is subtracted, only our cost is measured.
  const layers = seedLayers(32);
  const work = mkdtempSync(path.join(os.tmpdir(), 'qbj-bench-cli-'));
  const template = path.join(work, 'template');
  const cli = path.join(repoRoot, 'dist', 'cli.cjs');
  const unbundled = path.join(repoRoot, 'dist', 'src', 'cli', 'main.js');
  const rawPy = path.join(repoRoot, 'bench', 'raw-qmp.py');
  const connectScript = path.join(repoRoot, 'dist', 'bench', 'domain-connect.js');
  buildTemplate(template, layers);
  const jobMs: Record<string, number[]> = { ours: [], python: [] };
  let runNo = 0;

  /** A live commit on a fresh QEMU: wall time from spawning the command to its exit; job time from a second monitor. */
  const commit = async (key: 'ours' | 'python', command: string, args: (socket: string) => string[]): Promise<number> => {
    const dir = path.join(work, `run-${runNo++}`);
    freshChain(template, dir, layers);
    const qemu = await startGuest(dir);
    try {
      const observer = await qemu.failIfExits(connectRetrying(path.join(dir, 'observer.sock')));
      const wall = await timeProcess(command, args(qemu.socketPath));
      await waitFor(() => observer.events.some((e) => e.event === 'BLOCK_JOB_COMPLETED'), 5000, `${key}: BLOCK_JOB_COMPLETED on the observer`);
      jobMs[key]!.push(jobTimeMs(observer.events));
      observer.close();
      await qemu.stop();
      await verifyBase(dir, layers, key);
      return wall;
    } finally {
      await qemu.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  };

  // One guest that lives through the run answers the read-only commands.
  const queryDir = path.join(work, 'query-guest');
  freshChain(template, queryDir, layers);
  const queryGuest = await startGuest(queryDir);
  const socket = queryGuest.socketPath;
  const state = path.join(work, 'libvirt-state');
  const noLibvirt = await libvirtUnavailable(state);
  const domainName = `qbj-bench-cli-${process.pid}`;
  const connects: DomainConnect[] = [];
  const failures: string[] = [];

  const variants: Record<string, () => Promise<number>> = {
    'node -e 0 (start-up)': () => timeProcess(process.execPath, ['-e', '0']),
    'python3 raw socket: commit + pivot': () => commit('python', PYTHON, (s) => [rawPy, 'commit', s, 'vda-top', 'commit-vda']),
    'qmp-blockjob commit vda --active --pivot': () => commit('ours', process.execPath, (s) => [cli, '--socket', s, 'commit', 'vda', '--active', '--pivot']),
    'python3 raw socket: the queries of blocks/chain': () =>
      timeProcess(PYTHON, [rawPy, 'query', socket, 'query-block', 'query-named-block-nodes', 'query-block-exports']),
    'qmp-blockjob blocks': () => timeProcess(process.execPath, [cli, '--socket', socket, 'blocks']),
    // The same command from tsc's ES modules, the bin before the bundle: what the bundle saves, in this run's noise.
    'qmp-blockjob blocks, unbundled (dist/src/cli/main.js)': () => timeProcess(process.execPath, [unbundled, '--socket', socket, 'blocks']),
    'qmp-blockjob chain vda': () => timeProcess(process.execPath, [cli, '--socket', socket, 'chain', 'vda']),
    'python3 raw socket: the queries of jobs': () => timeProcess(PYTHON, [rawPy, 'query', socket, 'query-block-jobs', 'query-jobs']),
    'qmp-blockjob jobs': () => timeProcess(process.execPath, [cli, '--socket', socket, 'jobs']),
  };
  if (!noLibvirt) {
    const domainDir = path.join(work, 'domain');
    freshChain(template, domainDir, layers);
    const xml = path.join(domainDir, 'domain.xml');
    writeFileSync(xml, testDomainXml({ name: domainName, disk: path.join(domainDir, 'c.qcow2'), format: 'qcow2' }));
    await run('virsh', ['-c', VIRSH_URI, 'create', xml]);
    variants['--domain connect (VirshTransport.connect, a fresh process)'] = async () => {
      const { wall, info } = await domainConnect(connectScript, domainName);
      connects.push(info);
      return wall;
    };
    variants['qmp-blockjob --domain NAME jobs'] = () => timeProcess(process.execPath, [cli, '--domain', domainName, '--connect', VIRSH_URI, 'jobs']);
  }

  let samples: Record<string, number[]>;
  try {
    samples = await interleave(rounds, variants);
  } finally {
    await queryGuest.stop();
    if (!noLibvirt) {
      await run('virsh', ['-c', VIRSH_URI, 'destroy', domainName]).catch((e: Error) => failures.push(`virsh destroy ${domainName}: ${e.message}`));
      await run('bash', [path.join(repoRoot, 'ci', 'libvirt-down.sh')], { env: { ...process.env, QMPBJ_LIBVIRT_STATE: state } }).catch(() => {});
    }
    rmSync(work, { recursive: true, force: true });
  }

  const node = stats(samples['node -e 0 (start-up)']!).median;
  const overheadOf = (name: string): number[] => {
    const key = name.startsWith('python3 raw socket: commit') ? 'python' : name.startsWith('qmp-blockjob commit') ? 'ours' : undefined;
    return key ? samples[name]!.map((wall, i) => wall - (jobMs[key]![i] ?? NaN)) : samples[name]!;
  };
  const rows = Object.keys(samples).map((name) => {
    const wall = stats(samples[name]!);
    const isCommit = name.includes('commit');
    const job = isCommit ? stats(jobMs[name.startsWith('python3') ? 'python' : 'ours']!) : undefined;
    const over = stats(overheadOf(name));
    return [
      name,
      fmt(wall.median, 0),
      `${fmt(wall.min, 0)}–${fmt(wall.max, 0)}`,
      job ? fmt(job.median, 0) : '–',
      `${fmt(over.median, 0)} (${fmt(over.min, 0)}–${fmt(over.max, 0)})`,
      name.startsWith('node') ? '–' : `${over.median - node >= 0 ? '+' : ''}${fmt(over.median - node, 0)}`,
    ];
  });
  const overMedian = (name: string): number => stats(overheadOf(name)).median;
  const goals = [
    verdict(
      '`commit --active --pivot` overhead ≤ node start-up + 30 ms',
      overMedian('qmp-blockjob commit vda --active --pivot') <= node + 30,
      `node + ${fmt(overMedian('qmp-blockjob commit vda --active --pivot') - node, 0)} ms`,
    ),
    ...['qmp-blockjob blocks', 'qmp-blockjob chain vda', 'qmp-blockjob jobs'].map((name) =>
      verdict(
        `\`${name.slice('qmp-blockjob '.length)}\` ≤ node start-up + 20 ms`,
        overMedian(name) <= node + 20,
        `node + ${fmt(overMedian(name) - node, 0)} ms`,
      ),
    ),
  ];
  const connectMs = stats(connects.map((c) => c.connectMs));
  const roundCounts = new Map<number, number>();
  for (const c of connects) roundCounts.set(c.probeRounds, (roundCounts.get(c.probeRounds) ?? 0) + 1);
  const roundsText = [...roundCounts]
    .sort((a, b) => a[0] - b[0])
    .map(([r, n]) => `${n} × ${r} round${r === 1 ? '' : 's'}`)
    .join(', ');
  if (!noLibvirt) {
    goals.push(
      verdict(
        '`--domain` connect median ≤ 120 ms',
        connectMs.median <= 120,
        `${fmt(connectMs.median, 0)} ms (${fmt(connectMs.min, 0)}–${fmt(connectMs.max, 0)}; events proven live after ${fmt(stats(connects.map((c) => c.eventsReadyMs)).median, 0)} ms median)`,
      ),
      verdict('`--domain` event stream proven live in ≤ 1 probe round (common case)', stats(connects.map((c) => c.probeRounds)).median <= 1, roundsText),
    );
  }
  report(
    "The CLI's own cost, and the --domain connect",
    `npm run bench${full ? ' -- --full' : ''} (bench/cli.ts)`,
    ['variant', 'wall ms median', 'min–max', 'QEMU job ms median', 'overhead ms median (min–max)', 'overhead − node -e 0, ms'],
    rows,
    [
      `${rounds} rounds, variants interleaved. Overhead: for a commit the wall time minus QEMU's job time (JOB_STATUS_CHANGE "created" → BLOCK_JOB_COMPLETED, QEMU's timestamps on a second monitor), for the rest the wall time itself (QEMU answers those in well under 1 ms).`,
      `Commit: a fresh chain base.raw ← a ← b ← c with ${layers.map((l) => l.dataMiB).join('/')} MiB of data on a fresh guest per run (-machine pc under TCG, vCPU stopped, virtio-blk-pci vda, as in bench/e2e.ts), base.raw checked with qemu-io read -P after every run. Queries: one such guest for the whole run.`,
      `Ours: \`node dist/cli.cjs --socket S …\` (the shipped bin: the bundle with its code cache); the floor: bench/raw-qmp.py on ${PYTHON} (socket + json, the same QMP commands).`,
      noLibvirt
        ? `--domain rows skipped: ${noLibvirt}.`
        : `--domain: a transient libvirt guest of the same kind; the connect row is a fresh node process running VirshTransport.connect (virsh dominfo, the virsh shell, the event child, the probe, query-version) — its wall time in the table, the transport's own connect time below; probe rounds per connect: ${roundsText}.`,
      failures.length ? `Clean-up problems: ${failures.join('; ')}.` : '',
      loadNote(),
      ...goals,
    ].filter(Boolean),
  );
}
