// Every transcript the library, the CLI or the controller recorded (test/fixtures/qemu-*/*.jsonl, not
// raw/) replays through the model for a client other than its recorder: a bare socket of our own (no
// QmpClient: JSON lines, its own ids), with its own job ids and the job-* verbs where the recorder sent
// an accepted block-job-* one (QEMU 11.1 refuses the deprecated ones). It gets every reply and event
// QEMU gave, under its own job ids, and EOF exactly where QEMU went away. The raw transcripts are the
// CLI's (test/cli-commits-against-the-model-of-a-raw-transcript-as-against-qemu.test.ts).
import { readdirSync } from 'node:fs';
import t from 'tap';
import { fixturePath, fixtureSets } from './helpers/qemu.js';
import { playRaw, rawOutcomes, rawSteps } from './helpers/raw-transcript.js';
import { drainBlips, readTrace, renameJob, serveTrace } from './helpers/replay.js';
import { asOtherClient, recordedJobIds } from './helpers/other-client.js';

for (const set of fixtureSets()) {
  const files = readdirSync(fixturePath('', set))
    .filter((f) => f.endsWith('.jsonl'))
    .sort();
  for (const file of files) {
    t.test(`${set}/${file}: a plain-socket client with its own job ids gets what QEMU answered`, async (t) => {
      const trace = readTrace(fixturePath(file, set));
      t.notMatch(trace.header?.command ?? '', /raw-recorder/, 'recorded by the library, the CLI or the controller');
      const server = await serveTrace(t, { trace, instant: true, model: true });
      const blips = drainBlips(trace);
      const ids = recordedJobIds(trace);
      const mine = (value: unknown): unknown => ids.reduce((v, id, i) => renameJob(v, id, `other-${i}`), value);
      const outcomes = rawOutcomes(trace);
      const steps = rawSteps(trace, (m) => !blips.has(m)).map((step, i) => {
        const accepted = typeof outcomes[i] === 'object' && outcomes[i] !== null && 'return' in (outcomes[i] as object);
        return { ...step, command: mine(asOtherClient(step.command, accepted)) as Record<string, unknown> };
      });
      const events = trace.messages
        .filter((m) => m.dir === 'in' && 'event' in m.msg && !blips.has(m))
        .map(({ msg }) => mine({ event: msg.event, data: msg.data ?? {} }));
      const run = await playRaw(server.path!, steps, { events: events.length, untilClosed: trace.end?.end === 'qemu' });
      t.same(run.outcomes, mine(outcomes), `${file}: every reply should be QEMU's, under the client's job ids`);
      t.same(
        run.events.map(({ event, data }) => ({ event, data })),
        events,
        `${file}: every event should be QEMU's, under the client's job ids`,
      );
      t.equal(run.closedByServer, trace.end?.end === 'qemu', `${file}: the connection should end only where QEMU went away`);
    });
  }
}
