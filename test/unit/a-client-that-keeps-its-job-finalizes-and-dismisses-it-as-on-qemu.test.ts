// A client's own auto-finalize/auto-dismiss win over the transcript's: mock-qmp's model serves
// raw/active-commit-pivot.jsonl (QEMU finalized and dismissed by itself) to a raw client sending the
// commands of raw/manual-finalize.jsonl (auto-finalize and auto-dismiss off), and the client gets what
// QEMU gave that client: PENDING and a wait, dismiss refused while pending, finalize, dismiss.
import path from 'node:path';
import t from 'tap';
import { startMockQmp, readTrace } from '../../mock-qmp/index.js';
import { playRaw, rawOutcomes, rawSteps } from '../helpers/raw-transcript.js';
import { fixtureSets } from './helpers/recorded.js';

for (const set of fixtureSets())
  t.test(`${set.name}: a kept job on a transcript that kept none`, async (t) => {
    const qemu = readTrace(path.join(set.dir, 'raw', 'manual-finalize.jsonl'));
    const keep = (execute: unknown): boolean => !String(execute).startsWith('query-');
    const steps = rawSteps(qemu);
    const outcomes = rawOutcomes(qemu);
    const wanted = steps.map((s, i) => ({ s, o: outcomes[i] })).filter(({ s }) => keep(s.command.execute));
    const events = qemu.messages.filter((m) => m.dir === 'in' && 'event' in m.msg).map((m) => ({ event: m.msg.event, data: m.msg.data }));
    t.ok(
      wanted.some(({ o }) => 'error' in (o as object)),
      'QEMU should have refused the dismiss while pending',
    );

    const mock = await startMockQmp({ trace: path.join(set.dir, 'raw', 'active-commit-pivot.jsonl'), model: true, instant: true });
    t.teardown(() => mock.close());
    const run = await playRaw(
      (mock.address as { path: string }).path,
      wanted.map(({ s }) => s),
      { events: events.length, timeoutMs: 5000 },
    );
    t.same(
      run.outcomes,
      wanted.map(({ o }) => o),
      "every reply should be QEMU's to the client that kept its job",
    );
    t.same(
      run.events.map(({ event, data }) => ({ event, data })),
      events,
      "the events should be QEMU's: PENDING, then COMPLETED on finalize, null on dismiss",
    );
  });
