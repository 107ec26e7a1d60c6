// `trace diff` on sessions the CLI recorded (--trace) on real QEMU: two active commits with pivot,
// each on its own QEMU, folder and job id, are the same session (exit 0); a keep-overlay differs
// where it ends the job (exit 1, --json names the steps). The same pivot run against mock-qmp's
// model of this QEMU's recorded fixture sends the same commands and gets the same events: any
// difference is in a reply only (the model answers no command its transcript never saw).
import path from 'node:path';
import t, { type Test } from 'tap';
import type { TraceDiffRecord } from '../src/cli/records.js';
import { buildSeedChain } from './helpers/chain.js';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';
import { driveArgs } from './helpers/jobs.js';
import { fixturePath, fixtureSets, startQemu, tempDir } from './helpers/qemu.js';
import { readTrace, serveTrace } from './helpers/replay.js';

/** Runs `commit drive0 ARGS --trace FILE` on a fresh QEMU with the seed chain; returns the trace file and QEMU's version set. */
async function recordCommit(t: Test, args: string[]): Promise<{ file: string; set: string }> {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const { client } = await startQemu(t, { dir, args: [...driveArgs(await buildSeedChain(dir)), ...extraMonitorArgs(cli)] });
  const file = path.join(dir, 'session.jsonl');
  const run = await runCli(['commit', 'drive0', ...args, '--trace', file, '--socket', cli], 60_000);
  t.equal(run.code, 0, `commit ${args.join(' ')} should succeed; stderr: ${run.stderr}`);
  const { qemu } = await client.execute('query-version');
  return { file, set: `qemu-${qemu.major}.${qemu.minor}` };
}

async function diff(a: string, b: string): Promise<{ code: number | null; record: TraceDiffRecord; text: string }> {
  const json = await runCli(['trace', 'diff', a, b, '--json'], 30_000);
  const text = await runCli(['trace', 'diff', a, b], 30_000);
  return { code: json.code === text.code ? json.code : -1, record: jsonLines(json.stdout)[0] as unknown as TraceDiffRecord, text: text.stdout };
}

t.test('two pivots alike, a keep-overlay different, the model alike in commands and events', async (t) => {
  const first = await recordCommit(t, ['--active', '--pivot']);
  const second = await recordCommit(t, ['--active', '--pivot', '--job-id', 'another-name']);
  const same = await diff(first.file, second.file);
  t.equal(same.code, 0, `two pivots are the same session (exit 0); ${same.text.slice(-2000)}`);
  t.same([same.record.same, same.record.differences], [true, []], '--json says the same');
  t.match(same.text, /same sequence of commands, replies and events/, 'the text says so');

  const keep = await recordCommit(t, ['--active', '--keep-overlay']);
  const differ = await diff(first.file, keep.file);
  t.equal(differ.code, 1, 'a pivot and a keep-overlay differ (exit 1)');
  const commands = differ.record.differences.flatMap((d) => ('a' in d && d.a.kind === 'command' ? [d.a.text.split(' ')[1]] : []));
  const others = differ.record.differences.flatMap((d) => ('b' in d && d.b.kind === 'command' ? [d.b.text.split(' ')[1]] : []));
  t.ok(commands.includes('job-complete') || commands.includes('block-job-complete'), `the pivot's side has the completing verb; ${JSON.stringify(commands)}`);
  t.ok(others.includes('block-job-cancel') || others.includes('job-cancel'), `the keep-overlay's side cancels after READY; ${JSON.stringify(others)}`);
  // Which side an inserted or deleted run is shown on first is the aligner's choice; each row is marked.
  const marked = differ.text.split('\n').filter((line) => /[<>|]│/.test(line));
  t.equal(marked.length, differ.record.differences.length, `the side-by-side text marks each of the ${differ.record.differences.length} differing rows`);
  t.ok(
    marked.some((line) => /<│/.test(line)) && marked.some((line) => />│/.test(line)),
    'rows only in the pivot are marked <, rows only in the keep-overlay >',
  );

  if (!fixtureSets().includes(first.set)) {
    t.comment(`no recorded fixture set ${first.set}: the model part is skipped`);
    return;
  }
  const server = await serveTrace(t, { trace: readTrace(fixturePath('active-commit-pivot.jsonl', first.set)), model: true });
  const modelTrace = path.join(tempDir(t), 'model.jsonl');
  const run = await runCli(['commit', 'drive0', '--active', '--pivot', '--trace', modelTrace, '--socket', server.path!], 60_000);
  t.equal(run.code, 0, `the pivot on the model succeeds; stderr: ${run.stderr}`);
  const model = await diff(first.file, modelTrace);
  const notReplies = model.record.differences.filter(
    (d) => ('a' in d && !['reply', 'error'].includes(d.a.kind)) || ('b' in d && !['reply', 'error'].includes(d.b.kind)),
  );
  t.same(notReplies, [], `the model gets the same commands and gives the same events; ${model.text}`);
  // A reply that differs for the same command (the model refuses what it does not model) is one changed row.
  const changedReplies = model.record.differences.filter((d) => d.op === 'changed').length;
  t.equal(model.text.split('\n').filter((line) => /\|│/.test(line)).length, changedReplies, 'a changed row (same command, another reply) is marked |');
  t.equal(model.code, model.record.differences.length ? 1 : 0, 'exit status follows the differences');
});
