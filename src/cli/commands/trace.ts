import { readTrace } from '../../trace/reader.js';
import { compareTraces, renderComparison } from '../../trace/diff.js';
import type { Trace } from '../../trace/format.js';
import { UsageError } from '../args.js';
import { stringOption, type CommandSpec, type CliContext } from '../context.js';
import type { PictureWrittenRecord, TraceDiffRecord } from '../records.js';
import { writeNewFile } from '../pictures/write-file.js';

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
    const record: TraceDiffRecord = {
      type: 'trace-diff',
      a: fileA,
      b: fileB,
      same: comparison.differences.length === 0,
      steps: { a: comparison.a.length, b: comparison.b.length },
      differences: comparison.differences,
    };
    context.out.result(undefined, record);
  } else {
    context.out.text(`${renderComparison(comparison, { a: label(a, fileA), b: label(b, fileB) }, Math.max(context.out.columns, 160)).join('\n')}\n`);
  }
  return comparison.differences.length ? 1 : 0;
}

async function runView(context: CliContext, files: string[]): Promise<number> {
  if (files.length !== 1) throw new UsageError('trace view wants one trace file', 'trace');
  const { renderTraceView } = await import('../pictures/trace-view.js');
  const html = renderTraceView(readTrace(files[0]!), files[0]!);
  const out = stringOption(context, 'output');
  if (out === undefined) {
    context.out.text(html);
    return 0;
  }
  const bytes = writeNewFile(out, html, 'trace');
  const record: PictureWrittenRecord = { type: 'picture', format: 'html', file: out, bytes };
  context.out.result(`Wrote ${out} (${bytes} bytes)`, record);
  return 0;
}

export const traceCommand: CommandSpec = {
  name: 'trace',
  summary: 'look at recorded sessions (--trace files): view one as an HTML page, diff two',
  usage: 'trace view FILE [-o report.html] | trace diff A B',
  details: `view  one self-contained HTML page (no network fetch, any browser): a timeline of every command
      with its latency and every event, a lane per job with its status changes, READY → complete,
      the progress curve and speed changes, the chain before and after, errors highlighted.
      Written to stdout, or to -o FILE (a new file, mode 0600).
diff  the same scenario recorded on two QEMUs or by two clients, side by side: commands with their
      arguments, replies (ok or the error class) and events, with message ids, timestamps, QEMU's
      automatic node names (#blockNNN), job ids and file folders normalised. Exit 1 when they differ.`,
  examples: [
    'qmp-blockjob trace view session.jsonl -o session.html',
    'qmp-blockjob trace diff qemu-7.2/active-commit-pivot.jsonl qemu-11.1/active-commit-pivot.jsonl',
    'qmp-blockjob trace diff a.jsonl b.jsonl --json',
  ],
  options: { output: { type: 'string', short: 'o' } },
  async run(context) {
    const [sub, ...files] = context.positionals;
    if (sub === 'diff') return runDiff(context, files);
    if (sub === 'view') return await runView(context, files);
    throw new UsageError(sub === undefined ? 'trace wants view or diff' : `unknown trace subcommand '${sub}' (view, diff)`, 'trace');
  },
};
