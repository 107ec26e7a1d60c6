import type { CommandSpec } from '../context.js';
import { displayPercent } from '../percent.js';
import { jobTypeWords } from '../../jobs/kinds.js';

function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(2)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(2)} KiB`;
  return `${n} B`;
}

export const jobsCommand: CommandSpec = {
  name: 'jobs',
  summary: 'list running block jobs with type, state, progress and speed',
  usage: 'jobs',
  details:
    'From query-block-jobs and query-jobs. Progress is what QEMU reports now; it is not how the job is judged ready.\nA concluded job (one left running that ended with nobody watching) is shown with its error, then dismissed.',
  examples: ['qmp-blockjob --socket /tmp/qmp.sock jobs', 'qmp-blockjob --socket /tmp/qmp.sock jobs --json'],
  options: {},
  async run(context) {
    const client = await context.connect();
    const [blockJobs, jobs] = await Promise.all([
      client.execute('query-block-jobs', undefined, { signal: context.signal }),
      client.execute('query-jobs', undefined, { signal: context.signal }),
    ]);
    const rows = jobs.map((job) => {
      const block = blockJobs.find((b) => b.device === job.id);
      const total = job['total-progress'];
      const percent = displayPercent(job['current-progress'], total, block?.ready ?? false, job.status);
      return {
        id: job.id,
        jobType: job.type,
        status: job.status,
        current: job['current-progress'],
        total,
        percent,
        speed: block?.speed ?? 0,
        ready: block?.ready ?? false,
        error: job.error,
        dismissed: false,
      };
    });
    // A concluded job waits for someone to read how it ended: now it has been read, dismiss it.
    for (const row of rows.filter((r) => r.status === 'concluded')) {
      row.dismissed = await client.execute('job-dismiss', { id: row.id }, { signal: context.signal }).then(
        () => true,
        () => false,
      );
    }
    if (context.out.json) {
      for (const row of rows) context.out.result(undefined, { type: 'job', ...row });
      // The list's end, always: a reader tells "no jobs" from "nothing printed yet" (docs/cli.md).
      context.out.result(undefined, { type: 'jobs', count: rows.length });
      return 0;
    }
    if (rows.length === 0) {
      context.out.result('No block jobs');
      return 0;
    }
    const table = rows.map((r) => [
      r.id,
      jobTypeWords(r.jobType),
      r.dismissed ? 'concluded (dismissed)' : r.status,
      `${r.percent.toFixed(2)} %`,
      `${formatBytes(r.current)} / ${formatBytes(r.total)}`,
      r.speed ? `${formatBytes(r.speed)}/s` : 'unlimited',
      r.error ?? '',
    ]);
    const header = ['Job', 'Type', 'State', 'Progress', 'Done', 'Speed', 'Error'];
    const widths = header.map((h, c) => Math.max(h.length, ...table.map((row) => row[c]!.length)));
    const fmt = (cells: string[]): string =>
      cells
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd();
    context.out.result([fmt(header), ...table.map(fmt)].join('\n'));
    return 0;
  },
};
