// The CLI against the model of transcripts another client recorded (commit, pull for block-stream, copy for blockdev-mirror, its own snapshot before a commit) (mock-qmp/raw-recorder.py, QEMU 7.2
// and 10.0, virtio-blk vd0 on -blockdev nodes or a -drive): each commit ends as it ended on that QEMU,
// through the job states QEMU went through, and the graph a second client then reads is the one QEMU
// had after it (base after a pivot, the top after keep-overlay).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { connect } from '../src/connect.js';
import { fixturePath, fixtureSets } from './helpers/qemu.js';
import { readTrace, serveTrace } from './helpers/replay.js';
import { finished, jsonLines, runCli, startCli, waitForLine } from './helpers/cli.js';
import { withoutBlips } from '../src/jobs/state.js';
import type { JobStatus } from '../src/qapi/types.js';

interface Case {
  file: string;
  args: string[];
  code: number;
  outcome?: string;
  error?: RegExp;
  /** What the disk runs on afterwards, as the next query-block shows it: base (raw, no backing), the top, or a full copy (qcow2, no backing). */
  after?: 'base' | 'top' | 'copy';
  /** The recording's job went through pause/resume blips (a drain) this client's does not cause. */
  blips?: boolean;
  /** CLI commands run first (`FILE` is an overlay path of the test's own, never the recorded one). */
  before?: string[][];
  /** The job stops on an I/O error (on-error stop): once the CLI says so, a second CLI resumes it, as the recording's client did. */
  resume?: boolean;
}

const cases: Case[] = [
  { file: 'active-commit-pivot', args: ['commit', 'vd0', '--active', '--pivot'], code: 0, outcome: 'pivoted', after: 'base' },
  { file: 'keep-overlay', args: ['commit', 'vd0', '--active', '--keep-overlay'], code: 0, outcome: 'overlay-kept', after: 'top' },
  { file: 'intermediate-commit', args: ['commit', 'vd0', '--top', 'b', '--base', 'base', '--wait'], code: 0, outcome: 'completed', after: 'top' },
  { file: 'drive-active-commit', args: ['commit', 'drive0', '--active', '--pivot'], code: 0, outcome: 'pivoted', after: 'base' },
  { file: 'guest-writes', args: ['commit', 'vd0', '--active', '--pivot'], code: 0, outcome: 'pivoted', after: 'base' },
  { file: 'on-error-report', args: ['commit', 'vd0', '--active', '--pivot'], code: 1, outcome: 'failed', error: /Input\/output error/, after: 'top' },
  { file: 'cancel-while-running', args: ['commit', 'vd0', '--active', '--pivot', '--timeout', '0.3'], code: 1, outcome: 'aborted', after: 'top' },
  // QEMU's write error paused the job (BLOCK_JOB_ERROR action stop); the recording's client resumed it.
  {
    file: 'on-error-stop',
    args: ['commit', 'vd0', '--top', 'b', '--base', 'base', '--wait', '--on-error', 'stop'],
    code: 0,
    outcome: 'completed',
    after: 'top',
    resume: true,
  },
  { file: 'stream', args: ['pull', 'vd0', '--base', 'base', '--wait'], code: 0, outcome: 'completed', after: 'top' },
  // The CLI's own snapshot (a transaction with its own snap-… node name and file) stands for the recorded blockdev-snapshot-sync.
  {
    file: 'snapshot-then-commit',
    before: [['snapshot', 'drive0', '--file', 'FILE']],
    args: ['commit', 'drive0', '--active', '--pivot'],
    code: 0,
    outcome: 'pivoted',
    after: 'base',
  },
  // The recording kept its job (auto-finalize/auto-dismiss off, finalized and dismissed by hand); the CLI does not.
  { file: 'manual-finalize', args: ['commit', 'vd0', '--active', '--pivot'], code: 0, outcome: 'pivoted', after: 'base' },
  // blockdev-mirror onto a node the recording added; the CLI creates and adds its own destination (FILE).
  { file: 'mirror', args: ['copy', 'vd0', '--dest', 'FILE', '--pivot'], code: 0, outcome: 'pivoted', after: 'copy' },
  // The recording's throttled commit (1 MiB/s, lifted by set-speed), amid refused verbs; the CLI's own 8 MiB/s.
  { file: 'invalid-sequences', args: ['commit', 'vd0', '--active', '--pivot', '--bandwidth', '8'], code: 0, outcome: 'pivoted', after: 'base', blips: true },
  { file: 'qemu-killed', args: ['commit', 'vd0', '--active', '--pivot'], code: 1, error: /interrupted while running: the connection to QEMU was lost/ },
];

const rawFile = (set: string, name: string): string => path.join(path.dirname(fixturePath('x', set)), 'raw', `${name}.jsonl`);

// Each case is its own model server and CLI, mostly a CLI start: three at a time (buffered).
t.jobs = 3;

for (const set of fixtureSets())
  for (const c of cases) {
    t.test(`${set}/raw/${c.file}: qmp-blockjob ${c.args.join(' ')}`, async (t) => {
      const trace = readTrace(rawFile(set, c.file));
      const recordedStates = trace.messages
        .filter((m) => m.dir === 'in' && m.msg.event === 'JOB_STATUS_CHANGE')
        .map((m) => (m.msg.data as { status: string }).status);
      const server = await serveTrace(t, { trace, model: true });
      const dir = mkdtempSync(path.join(tmpdir(), 'qmpbj-raw-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      for (const [i, before] of (c.before ?? []).entries()) {
        const step = await runCli([...before.map((a) => (a === 'FILE' ? path.join(dir, `overlay-${i}.qcow2`) : a)), '--socket', server.path!], 30_000);
        t.equal(step.code, 0, `qmp-blockjob ${before.join(' ')} first; stderr: ${step.stderr}`);
      }
      const child = startCli(['--json', ...c.args.map((a) => (a === 'FILE' ? path.join(dir, 'dest.qcow2') : a)), '--socket', server.path!]);
      const running = finished(child, 30_000);
      // A failed step before its end leaves no CLI behind.
      t.teardown(() => child.kill('SIGKILL'));
      if (c.resume) {
        const said = JSON.parse(await waitForLine(child, (l) => l.includes('"type":"error-stop"'))) as Record<string, unknown>;
        t.match(
          said,
          { disk: 'vd0', operation: 'write', next: /job vd0 --resume/ },
          'the waiting CLI should say the job stopped on a write error and how to resume it',
        );
        const resume = await runCli(['job', 'vd0', '--resume', '--socket', server.path!], 30_000);
        t.equal(resume.code, 0, `a second CLI should resume the stopped job; stderr: ${resume.stderr}`);
      }
      const run = await running;
      t.equal(run.code, c.code, `exit status; stderr: ${run.stderr}`);
      const lines = jsonLines(run.stdout);
      const result = lines.find((l) => l.type === 'result');
      if (c.outcome) {
        t.equal(result?.outcome, c.outcome, `the outcome should be QEMU's; stdout: ${run.stdout.slice(-400)}`);
        t.same(
          result?.states,
          c.blips ? withoutBlips(recordedStates.map((status, at) => ({ status: status as JobStatus, at }))) : recordedStates,
          'the job should go through the states QEMU went through',
        );
      }
      if (c.error) t.match(`${String(result?.error ?? '')} ${run.stderr}`, c.error, "the failure should say what QEMU's did");
      const completed = trace.messages.find((m) => m.msg.event === 'BLOCK_JOB_COMPLETED');
      const printed = lines.find((l) => l.event === 'BLOCK_JOB_COMPLETED');
      if (completed && c.args[0] === 'commit')
        t.same(
          (printed?.data as { len?: number })?.len,
          (completed.msg.data as { len: number }).len,
          "progress should move as QEMU's did (guest writes grow len)",
        );
      if (!c.after) return;
      const client = await connect({ path: server.path! }, { connectTimeoutMs: 5000 });
      t.teardown(() => client.close());
      const blocks = await client.execute('query-block');
      const image = blocks.find((b) => b.qdev === '/machine/peripheral/vd0/virtio-backend')?.inserted?.image;
      const seen = { format: image?.format, backing: image?.['backing-image'] !== undefined };
      const want = { base: { format: 'raw', backing: false }, top: { format: 'qcow2', backing: true }, copy: { format: 'qcow2', backing: false } }[c.after];
      t.same(seen, want, `after the job the next query-block should show vd0 on its ${c.after}`);
      t.same(await client.execute('query-jobs'), [], 'the job should be gone, as its client asked (auto-dismiss)');
    });
  }
