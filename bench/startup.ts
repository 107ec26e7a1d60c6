// Start-up cost of the CLI: `qmp-blockjob --version` vs `node -e 0`, interleaved.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fmt, interleave, report, repoRoot, stats } from './common.js';

function timeRun(args: string[]): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { stdio: 'ignore' });
  if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}`);
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export async function benchStartup(full: boolean): Promise<void> {
  const cli = path.join(repoRoot, 'dist', 'cli.cjs');
  const rounds = full ? 30 : 15;
  const samples = await interleave(rounds, {
    'node -e 0': () => timeRun(['-e', '0']),
    'qmp-blockjob --version': () => timeRun([cli, '--version']),
  });
  const base = stats(samples['node -e 0']!).median;
  report(
    'Start-up',
    `npm run bench${full ? ' -- --full' : ''} (bench/startup.ts)`,
    ['command', 'ms median', 'min–max', '× node -e 0'],
    Object.entries(samples).map(([name, values]) => {
      const s = stats(values);
      return [name, fmt(s.median, 1), `${fmt(s.min, 1)}–${fmt(s.max, 1)}`, fmt(s.median / base, 2)];
    }),
    [`${rounds} interleaved runs each, whole process wall time.`],
  );
}
