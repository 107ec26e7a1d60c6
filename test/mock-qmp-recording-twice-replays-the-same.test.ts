// Recording the same scenario twice from a real QEMU and replaying either gives a client the same
// replies (shape) and the same sequence of event names and job states.
import path from 'node:path';
import t from 'tap';
import { recordScenario, scenarios } from '../mock-qmp/record-fixtures.js';
import { tempDir } from './helpers/qemu.js';
import { playCommands, readTrace, recordedCommands, recordedEvents, serveTrace } from './helpers/replay.js';

t.test('two recordings of active-commit-pivot replay alike', async (t) => {
  const scenario = scenarios.find((s) => s.name === 'active-commit-pivot')!;
  const dir = tempDir(t);
  const views: string[] = [];
  for (const n of [1, 2]) {
    const file = await recordScenario(scenario, path.join(dir, `take${n}.jsonl`));
    const trace = readTrace(file);
    const server = await serveTrace(t, { trace, instant: true });
    const result = await playCommands(server.path!, recordedCommands(trace), recordedEvents(trace).length);
    views.push(
      JSON.stringify({
        replies: result.outcomes.map((o) => ('error' in o ? o.error.class : Array.isArray(o.return) ? `list:${o.return.length}` : typeof o.return)),
        events: result.events.map((e) => `${e.event}:${String((e.data as { status?: string }).status ?? '')}`),
      }),
    );
  }
  t.equal(views[1], views[0], 'both recordings should give the client the same replies and event sequence');
  t.match(views[0], /JOB_STATUS_CHANGE:created","JOB_STATUS_CHANGE:running"/, 'the sequence should be the real one (created, running first)');
});
