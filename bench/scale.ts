// Scale: 1, 8 and 64 concurrent active commits + pivots driven by ONE process (bench/scale-driver.ts),
// on several QEMUs (-machine none) with several -drive chains each; every result verified (outcome
// "pivoted", chain == [base] live, base content with qemu-io read -P after QEMU quit). Interleaved rounds.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { QemuProcess } from '../src/transport/qemu-process.js';
import { fmt, interleave, loadNote, report, stats, verdict } from './common.js';
import { chainCopyArgs, makeTemplateChain } from './reaction.js';
import type { ScaleOutcome, ScaleTarget } from './scale-driver.js';
import { connect } from '../src/connect.js';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const LEVELS: Array<{ jobs: number; qemus: number }> = [
  { jobs: 1, qemus: 1 },
  { jobs: 8, qemus: 1 },
  { jobs: 64, qemus: 8 },
];

function drive(targets: ScaleTarget[]): Promise<ScaleOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(here, 'scale-driver.js'), JSON.stringify(targets)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as ScaleOutcome);
      else reject(new Error(`scale driver exited ${code}: ${err.trim()}`));
    });
  });
}

export async function benchScale(full: boolean): Promise<void> {
  const rounds = full ? 9 : 5;
  const work = mkdtempSync(path.join(os.tmpdir(), 'qbj-bench-scale-'));
  const template = makeTemplateChain(path.join(work, 'template'));
  const reaction: Record<number, number[]> = {};
  const rss: Record<number, number[]> = {};
  const problems: string[] = [];
  let verified = 0;
  let runNo = 0;

  const level = (jobs: number, qemuCount: number) => async (): Promise<number> => {
    const dir = path.join(work, `run-${runNo++}`);
    const perQemu = jobs / qemuCount;
    const qemus: QemuProcess[] = [];
    try {
      const targets: ScaleTarget[] = [];
      for (let q = 0; q < qemuCount; q++) {
        const qdir = path.join(dir, `q${q}`);
        const disks = Array.from({ length: perQemu }, (_, d) => `vd${d}`);
        const args = disks.flatMap((_, d) => chainCopyArgs(template, path.join(qdir, `d${d}`), d));
        const qemu = await QemuProcess.start({ dir: qdir, args });
        qemus.push(qemu);
        targets.push({ socket: qemu.socketPath, disks });
      }
      // Every monitor answers before the clock starts.
      await Promise.all(qemus.map(async (q) => (await q.failIfExits(connect({ path: q.socketPath }))).close()));
      const outcome = await drive(targets);
      (reaction[jobs] ??= []).push(...outcome.reactionUs);
      (rss[jobs] ??= []).push(outcome.maxRssKiB / 1024);
      const notPivoted = outcome.outcomes.filter((o) => o !== 'pivoted');
      if (notPivoted.length || outcome.outcomes.length !== jobs) problems.push(`${jobs} jobs: outcomes ${outcome.outcomes.join(',')}`);
      if (outcome.badChains.length) problems.push(`${jobs} jobs: chains after pivot ${outcome.badChains.join('; ')}`);
      await Promise.all(qemus.map((q) => q.stop()));
      // After QEMU quit: base.raw alone holds the data that was in top.
      await Promise.all(
        targets.flatMap((_, q) =>
          Array.from({ length: perQemu }, async (_unused, d) => {
            const base = path.join(dir, `q${q}`, `d${d}`, 'base.raw');
            const { stdout } = await run('qemu-io', ['-r', '-f', 'raw', '-c', 'read -P 0x5a 0 256k', '-c', 'read -P 0 256k 1792k', base]);
            if (/verification failed|error/i.test(stdout)) problems.push(`${base}: ${stdout.trim()}`);
            else verified++;
          }),
        ),
      );
      return outcome.wallMs;
    } finally {
      await Promise.all(qemus.map((q) => q.stop()));
      rmSync(dir, { recursive: true, force: true });
    }
  };

  let samples: Record<string, number[]>;
  try {
    samples = await interleave(rounds, Object.fromEntries(LEVELS.map((l) => [String(l.jobs), level(l.jobs, l.qemus)])));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const at64 = { reaction: stats(reaction[64] ?? []), rss: stats(rss[64] ?? []) };
  report(
    'Scale: concurrent active commits + pivots from one process',
    `npm run bench${full ? ' -- --full' : ''} (bench/scale.ts)`,
    ['concurrent jobs', 'QEMUs × disks', 'wall ms median', 'min–max', 'reaction p50 ms', 'reaction p99 ms', 'reaction max ms', 'peak RSS MB median (max)'],
    LEVELS.map((l) => {
      const s = stats(samples[String(l.jobs)] ?? []);
      const r = stats(reaction[l.jobs] ?? []);
      const m = stats(rss[l.jobs] ?? []);
      return [
        String(l.jobs),
        `${l.qemus} × ${l.jobs / l.qemus}`,
        fmt(s.median, 0),
        `${fmt(s.min, 0)}–${fmt(s.max, 0)}`,
        fmt(r.p50 / 1e3, 3),
        fmt(r.p99 / 1e3, 3),
        fmt(r.max / 1e3, 3),
        `${fmt(m.median, 1)} (${fmt(m.max, 1)})`,
      ];
    }),
    [
      `${rounds} rounds, levels interleaved. Each disk: -drive base.raw (2 MiB) ← top.qcow2 with 256 KiB of data, -machine none. The driver is a separate node process (bench/scale-driver.ts) so its peak RSS (process.resourceUsage().maxRSS) is its own; wall time runs from the first resolveDisk to the last pivot() result (connecting not included).`,
      'Reaction latency from inside the library: the first of JOB_STATUS_CHANGE "ready" / BLOCK_JOB_READY seen by client.on(\'event\') → block-job-complete passing the traffic hook, process.hrtime; pooled over all rounds.',
      `Verified: ${verified} of ${rounds * LEVELS.reduce((sum, l) => sum + l.jobs, 0)} disks had outcome 'pivoted', chain == [base] live, and base.raw read -P 0x5a (data) / 0 (rest) after QEMU quit.${problems.length ? ` Problems: ${problems.join('; ')}` : ''}`,
      loadNote(),
      verdict(
        'at 64: all pivot and verify',
        problems.length === 0 && verified === rounds * 73,
        problems.length ? `${problems.length} problems` : `${verified} verified`,
      ),
      verdict('at 64: reaction p99 ≤ 10 ms', at64.reaction.p99 <= 10_000, `${fmt(at64.reaction.p99 / 1e3, 3)} ms`),
      verdict('at 64: peak RSS ≤ 100 MB', at64.rss.max <= 100, `${fmt(at64.rss.max, 1)} MB (max of ${rounds} runs)`),
    ],
  );
}
