// Transcripts recorded by mock-qmp/raw-recorder.py (a plain-socket client, not QmpClient) against
// QEMU 7.2 and 10.0, replayed by the model to a raw client sending the same commands: every reply —
// QEMU's refusals included, class and desc — every event and the end of the connection are the
// ones the real QEMU gave. Event timestamps are the current time, not the recorded one.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { fixturePath, fixtureSets } from './helpers/qemu.js';
import { drainBlips, readTrace, serveTrace } from './helpers/replay.js';
import { playRaw, rawOutcomes, rawSteps } from './helpers/raw-transcript.js';

const rawDir = (set: string): string => path.join(path.dirname(fixturePath('x', set)), 'raw');

for (const set of fixtureSets()) {
  const files = readdirSync(rawDir(set))
    .filter((f) => f.endsWith('.jsonl'))
    .sort();
  t.test(`${set} has the raw transcripts`, async (t) => {
    for (const name of [
      'active-commit-pivot',
      'keep-overlay',
      'intermediate-commit',
      'drive-active-commit',
      'guest-writes',
      'on-error-report',
      'qemu-killed',
      'invalid-sequences',
    ]) {
      t.ok(files.includes(`${name}.jsonl`), `${set}/raw/${name}.jsonl should be recorded`);
    }
  });
  for (const file of files) {
    t.test(`${set}/raw/${file}: a raw client gets what QEMU answered`, async (t) => {
      const trace = readTrace(path.join(rawDir(set), file));
      t.match(trace.header?.command, /raw-recorder\.py/, 'the transcript should say the raw recorder made it');
      const server = await serveTrace(t, { trace, instant: true, model: true });
      // QEMU 10.0's drain blips (paused, running, while another command drains) are not the job's own:
      // the model leaves them out.
      const blips = drainBlips(trace);
      const recordedEvents = trace.messages.filter((m) => m.dir === 'in' && 'event' in m.msg && !blips.has(m));
      const started = Date.now() / 1000;
      const run = await playRaw(
        server.path!,
        rawSteps(trace, (m) => !blips.has(m)),
        { events: recordedEvents.length, untilClosed: trace.end?.end === 'qemu' },
      );
      t.same(run.outcomes, rawOutcomes(trace), `${file}: every reply should be QEMU's`);
      t.same(
        run.events.map(({ event, data }) => ({ event, data })),
        recordedEvents.map(({ msg }) => ({ event: msg.event, data: msg.data })),
        `${file}: the whole event sequence should be QEMU's`,
      );
      t.equal(run.closedByServer, trace.end?.end === 'qemu', `${file}: the mock should close the connection only where QEMU went away`);
      const stamps = run.events.map((e) => (e.timestamp as { seconds: number }).seconds);
      t.ok(
        stamps.every((s) => s >= Math.floor(started) && s <= Date.now() / 1000 + 1),
        `${file}: events should carry the current time, got ${stamps.slice(0, 3).join(', ')}`,
      );
    });
  }
}
