// trace diff's normalisation, on every recorded fixture: a copy with other message ids, later
// timestamps, other #blockNNN names, another job id and another folder is the same session; the
// same scenario on QEMU 10.0 and 11.1 differs exactly where the verb changed (block-job-complete,
// deprecated in 10.1, became job-complete), and an error reply's class is seen.
import { readdirSync } from 'node:fs';
import t from 'tap';
import { readTrace } from '../../src/trace/reader.js';
import { compareTraces, normaliseTrace } from '../../src/trace/diff.js';
import type { Trace } from '../../src/trace/format.js';
import { fixturePath, fixtureSets } from '../helpers/qemu.js';

/** The same session as another recording would have it. */
function rerecorded(trace: Trace): Trace {
  const jobIds = [
    ...new Set(trace.messages.map((m) => (m.msg.arguments as { 'job-id'?: string } | undefined)?.['job-id']).filter((id): id is string => id !== undefined)),
  ];
  let text = JSON.stringify(trace.messages);
  for (const [i, id] of jobIds.entries()) text = text.split(`"${id}"`).join(`"renamed-${i}"`);
  text = text
    .replace(/#block(\d+)/g, (_, n: string) => `#block${String((Number(n) * 7 + 13) % 1000).padStart(3, '0')}`)
    .replace(/\/tmp\/[\w.-]+\//g, '/var/tmp/elsewhere/');
  const messages = (JSON.parse(text) as Trace['messages']).map((m) => ({
    ...m,
    t: m.t + 100,
    msg: 'id' in m.msg ? { ...m.msg, id: `x-${String(m.msg.id)}` } : m.msg,
  }));
  return { ...trace, messages };
}

for (const set of fixtureSets()) {
  for (const file of readdirSync(fixturePath('', set)).filter((f) => f.endsWith('.jsonl') && f !== 'schema.jsonl')) {
    t.test(`${set}/${file}: a re-recorded copy is the same session`, async (t) => {
      const trace = readTrace(fixturePath(file, set));
      const comparison = compareTraces(trace, rerecorded(trace));
      t.same(comparison.differences, [], 'no difference after normalisation');
      t.equal(comparison.a.length, normaliseTrace(trace).length, 'every message but the greeting is a step');
    });
  }
}

t.test('10.0 and 11.1 active-commit-pivot differ by the completing verb only', async (t) => {
  const comparison = compareTraces(
    readTrace(fixturePath('active-commit-pivot.jsonl', 'qemu-10.0')),
    readTrace(fixturePath('active-commit-pivot.jsonl', 'qemu-11.1')),
  );
  t.same(
    comparison.differences.map((d) => [d.op, 'a' in d ? d.a.text : '', 'b' in d ? d.b.text : '']),
    [['changed', '→ block-job-complete {device:"job1"}', '→ job-complete {id:"job1"}']],
    'one changed step',
  );
});

t.test('an error class is a step of its own', async (t) => {
  const steps = normaliseTrace(readTrace(fixturePath('error-replies.jsonl', 'qemu-11.1')));
  t.ok(
    steps.some((s) => s.kind === 'error' && /^← error [A-Z]\w+$/.test(s.text)),
    'error replies show their class',
  );
  const commandThenReply = steps.every((s, i) => s.kind !== 'command' || ['reply', 'error'].includes(steps[i + 1]?.kind ?? ''));
  t.ok(commandThenReply, 'each command is followed by its reply');
});
