// The model runs the jobs of a transaction (two blockdev-backup actions, completion-mode grouped) as
// one group: a client that sends the recording's commands under its own job names gets QEMU's
// events in QEMU's order across both jobs, at recorded time and with --instant (where its client,
// which does not wait for events, also gets QEMU's replies: at recorded time the jobs still run then).
import t from 'tap';
import type { Trace } from '../mock-qmp/index.js';
import { fixturePath, fixtureSets } from './helpers/qemu.js';
import { modelledEvents, playCommands, readTrace, recordedCommands, recordedOutcomes, renameJob, serveTrace } from './helpers/replay.js';

const mine = <T>(value: T): T => renameJob(renameJob(value, 'commit-job-2', 'mine-2'), 'commit-job', 'mine');

for (const set of fixtureSets())
  for (const instant of [true, false]) {
    t.test(`${set}: backup-grouped-transaction through the model${instant ? ', --instant' : ', at recorded time'}`, async (t) => {
      const trace: Trace = readTrace(fixturePath('backup-grouped-transaction.jsonl', set));
      const server = await serveTrace(t, { trace, instant, model: true });
      const events = mine(modelledEvents(trace));
      const ids = [...new Set(events.map((e) => (e.data as { id?: string; device?: string }).id ?? (e.data as { device?: string }).device))];
      t.same(ids, ['mine', 'mine-2'], 'the recording should hold the two jobs of one transaction');
      const result = await playCommands(server.path!, mine(recordedCommands(trace)), events.length);
      if (instant) t.same(result.outcomes, mine(recordedOutcomes(trace)), "every reply should be QEMU's");
      t.same(result.events, events, "the events of both jobs should come in QEMU's order, grouped completion included");
    });
  }
