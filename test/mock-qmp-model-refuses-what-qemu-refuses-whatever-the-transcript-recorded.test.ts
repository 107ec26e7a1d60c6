// The model refuses what QEMU refuses even where its transcript never recorded the refusal: mock-qmp
// serves raw/cancel-while-running.jsonl (a throttled commit cancelled, no error at all) to a raw client that sends the
// QEMU-invalid sequence of raw/invalid-sequences.jsonl under its own job names, and each answer is
// compared, class and desc, with what the real QEMU answered in invalid-sequences.jsonl.
import path from 'node:path';
import t from 'tap';
import { fixturePath, fixtureSets } from './helpers/qemu.js';
import { readTrace, serveTrace } from './helpers/replay.js';
import { playRaw, rawOutcomes, rawSteps } from './helpers/raw-transcript.js';

const raw = (set: string, name: string): string => path.join(path.dirname(fixturePath('x', set)), 'raw', `${name}.jsonl`);
const rename = <T>(value: T): T =>
  JSON.parse(
    JSON.stringify(value).replaceAll("'job0'", "'mine'").replaceAll('"job0"', '"mine"').replaceAll("'job1'", "'mine-2'").replaceAll('"job1"', '"mine-2"'),
  ) as T;

for (const set of fixtureSets()) {
  t.test(`${set}: QEMU's refusals from a transcript that has none`, async (t) => {
    const qemu = readTrace(raw(set, 'invalid-sequences'));
    // QEMU's answers to the invalid commands, up to the point where the job was let go (set-speed 0).
    const steps = rawSteps(qemu);
    const outcomes = rawOutcomes(qemu);
    const from = steps.findIndex((s) => s.command.execute === 'block-job-complete');
    const to = steps.findIndex((s) => s.command.execute === 'block-job-set-speed');
    const invalid = steps.slice(from, to).filter((s) => !String(s.command.execute).startsWith('query-'));
    const expected = invalid.map((s) => outcomes[steps.indexOf(s)]);
    t.ok(
      expected.length >= 8 && expected.filter((o) => 'error' in (o as object)).length === expected.length - 1,
      `the recorded sequence should be refusals around one throttled commit, got ${JSON.stringify(expected)}`,
    );

    const server = await serveTrace(t, { trace: readTrace(raw(set, 'cancel-while-running')), instant: true, model: true });
    const client = invalid.map((s) => ({ command: rename(s.command), eventsBefore: 0 }));
    const cancel = { command: { execute: 'block-job-cancel', arguments: { device: 'mine' } }, eventsBefore: 0 };
    const run = await playRaw(server.path!, [{ command: { execute: 'qmp_capabilities' }, eventsBefore: 0 }, ...client, cancel], { events: 5 });
    t.same(run.outcomes.slice(1, -1), rename(expected), "every refusal should be the one QEMU gave (class and desc), under the client's job names");
    const states = run.events.map((e) => (e.event === 'JOB_STATUS_CHANGE' ? (e.data as { status: string }).status : e.event));
    t.same(
      states.filter((s) => s !== 'paused' && s !== 'running').concat(),
      ['created', 'aborting', 'BLOCK_JOB_CANCELLED', 'concluded', 'null'],
      `the client's throttled job should run until its cancel, got ${states.join(', ')}`,
    );
  });
}
