import type { JobStatus } from '../qapi/types.js';

/** Statuses after which the job's figures are final: they may show 100 %. */
const SETTLED: ReadonlySet<string> = new Set(['waiting', 'pending', 'concluded', 'null']);

/**
 * The percentage the CLI shows for a job, the same in `jobs`, `job --info` and `commit --verbose`:
 * like virsh, below 100 % until the job is ready or done, whatever offset == len says (an active
 * commit can copy everything and still not be in sync).
 */
export function displayPercent(done: number, total: number, ready: boolean, status: JobStatus | string): number {
  const percent = total > 0 ? (100 * done) / total : 0;
  if (ready || SETTLED.has(status)) return ready && status !== 'concluded' ? 100 : percent;
  return Math.min(percent, 99.99);
}
