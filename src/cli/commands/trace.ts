import { readTrace } from '../../../mock-qmp/trace-reader.js';
import { compareTraces, renderComparison } from '../../trace/diff.js';
import type { Trace } from '../../trace/format.js';
import { UsageError } from '../args.js';
import type { CommandSpec, CliContext } from '../context.js';
import type { TraceDiffRecord } from '../pictures/records.js';

function label(trace: Trace, file: string): string {
  const version = trace.header?.qemu?.qemu;
  return `${file}${version ? ` (QEMU ${version.major}.${version.minor}.${version.micro})` : ''}`;
}

function runDiff(context: CliContext, files: string[]): number {
  if (files.length !== 2) throw new UsageError('trace diff wants two trace files, A and B', 'trace');
  const [fileA, fileB] = files as [string, string];
  const [a, b] = [readTrace(fileA), readTrace(fileB)];
  const comparison = compareTraces(a, b);
  if (context.out.json) {
    const record: TraceDiffRecord = { type: 'trace-diff', a: fileA, b: fileB, same: comparison.differences.length === 0, steps: { a: comparison.a.length, b: comparison.b.length }, differences: comparison.differences };
    context.out.result(undefined, record as unknown as Record<string, unknown>);
  } else {
    context.out.text(`${renderComparison(comparison, { a: label(a, fileA), b: label(b, fileB) }, Math.max(context.out.columns, 160)).join('\n')}\n`);
  }
  return comparison.differences.length ? 1 : 0;
}

export const traceCommand: CommandSpec = {
  name: 'trace',
  summary: 'compare recorded sessions (--trace files): trace diff A B',
  usage: 'trace diff A B',
  details: `diff  the same scenario recorded on two QEMUs or by two clients, side by side: commands with their
      arguments, replies (ok or the error class) and events, with message ids, timestamps, QEMU's
      automatic node names (#blockNNN), job ids and file folders normalised. Exit 1 when they differ.`,
  examples: [
    'qmp-blockjob trace diff qemu-7.2/active-commit-pivot.jsonl qemu-11.1/active-commit-pivot.jsonl',
    'qmp-blockjob trace diff a.jsonl b.jsonl --json',
  ],
  options: {},
  async run(context) {
    const [sub, ...files] = context.positionals;
    if (sub === 'diff') return runDiff(context, files);
    throw new UsageError(sub === undefined ? 'trace wants diff' : `unknown trace subcommand '${sub}' (diff)`, 'trace');
  },
};
