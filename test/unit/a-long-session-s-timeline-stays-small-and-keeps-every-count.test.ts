// trace view's timeline model (src/trace/timeline.ts) over recorded fixtures: a short session keeps
// every command, event and status change, READY and the complete that followed; a long one (a
// recorded pivot repeated to 30,000 messages, each copy its own job) is counted per time bucket and
// per job outcome beyond the lanes drawn, so the page stays small, and no count is lost.
import t from 'tap';
import { readTrace } from '../../src/trace/reader.js';
import type { Trace } from '../../src/trace/format.js';
import { BUCKETS, MAX_LANES, buildTimeline } from '../../src/trace/timeline.js';
import { fixturePath, fixtureSets } from '../helpers/qemu.js';

for (const set of fixtureSets()) {
  t.test(`${set}/controller-active-pivot: every mark, READY and the pivot`, async (t) => {
    const trace = readTrace(fixturePath('controller-active-pivot.jsonl', set));
    const timeline = buildTimeline(trace, 'x');
    const events = trace.messages.filter((m) => m.dir === 'in' && 'event' in m.msg);
    t.equal(timeline.commands?.length, trace.messages.filter((m) => m.dir === 'out').length, 'every command');
    t.equal(timeline.events?.length, events.length, 'every event');
    t.equal(timeline.jobs.length, 1, 'one job lane');
    const job = timeline.jobs[0]!;
    t.same(
      job.changes.map((c) => c.status),
      events.filter((m) => m.msg.event === 'JOB_STATUS_CHANGE').map((m) => (m.msg.data as { status: string }).status),
      'the lane has every status change in order',
    );
    const ready = events.find((m) => m.msg.event === 'BLOCK_JOB_READY' || (m.msg.data as { status?: string } | undefined)?.status === 'ready');
    t.equal(job.ready, ready?.t, 'READY at the first of its two events');
    const complete = trace.messages.find((m) => m.dir === 'out' && /job-complete$/.test(String(m.msg.execute)));
    t.equal(job.completeSent, complete?.t, 'complete sent when the command went out');
    t.equal(job.outcome, 'completed', 'the job completed');
    t.ok(job.progress.length >= 1, "progress from the job's query-block-jobs reply or events");
    t.ok(timeline.chainBefore.length >= 1, 'a chain from the first query-block');
  });
}

/** A recorded session repeated: each copy with its own job id, later times and other message ids. */
function repeated(trace: Trace, messages: number): Trace {
  const [greeting, ...body] = trace.messages;
  const span = (body.at(-1)?.t ?? 0) + 0.01;
  const out = [greeting!];
  for (let copy = 0; out.length < messages; copy++) {
    for (const m of body) {
      if (out.length >= messages) break;
      const msg = JSON.parse(JSON.stringify(m.msg).replaceAll('"commit-drive0"', `"job-${copy}"`)) as typeof m.msg;
      if (msg.id !== undefined) msg.id = `${copy}-${String(msg.id)}`;
      out.push({ ...m, t: m.t + copy * span, msg, line: out.length + 2 });
    }
  }
  return { ...trace, messages: out, end: undefined };
}

t.test('30,000 messages: bucketed, lanes capped, counts kept', async (t) => {
  const trace = repeated(readTrace(fixturePath('controller-active-pivot.jsonl', 'qemu-11.1')), 30_000);
  const timeline = buildTimeline(trace, 'big');
  const commands = trace.messages.filter((m) => m.dir === 'out').length;
  const events = trace.messages.filter((m) => m.dir === 'in' && 'event' in m.msg).length;
  t.same(timeline.counts, { messages: 30_000, commands, events, errors: 0 }, "the counts are the trace's");
  t.equal(timeline.commands, undefined, 'commands are not listed one by one');
  t.equal(timeline.buckets?.length, BUCKETS, 'they are counted per bucket');
  t.equal(
    timeline.buckets?.reduce((n, b) => n + b.commands, 0),
    commands,
    'no command lost in the buckets',
  );
  t.equal(
    timeline.buckets?.reduce((n, b) => n + b.events, 0),
    events,
    'no event lost in the buckets',
  );
  const jobs = new Set(trace.messages.flatMap((m) => (m.msg.event === 'JOB_STATUS_CHANGE' ? [(m.msg.data as { id: string }).id] : []))).size;
  t.equal(timeline.jobs.length, MAX_LANES, `${MAX_LANES} lanes drawn`);
  t.equal(timeline.moreJobs?.count, jobs - MAX_LANES, 'the other jobs counted');
  t.ok(JSON.stringify(timeline).length < 400_000, `the model stays small (${JSON.stringify(timeline).length} bytes)`);
});
