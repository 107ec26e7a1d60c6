// createTraceSink, given to QmpClient as `traffic`, writes a valid trace of the session that replays.
import path from 'node:path';
import t from 'tap';
import { createTraceSink } from '../mock-qmp/index.js';
import { fixturePath, fixtureSets, tempDir } from './helpers/qemu.js';
import { playCommands, readTrace, recordedCommands, recordedEvents, serveTrace } from './helpers/replay.js';
import { connect } from '../src/connect.js';

for (const set of fixtureSets())
  t.test(`${set}: a client session written through the traffic option`, async (t) => {
    const server = await serveTrace(t, { trace: readTrace(fixturePath('active-commit-pivot.jsonl', set)), instant: true });
    const file = path.join(tempDir(t), 'client.jsonl');
    const sink = createTraceSink(file, { note: 'client-side trace', command: 'test' });
    const client = await connect({ path: server.path! }, { traffic: sink.sink, connectTimeoutMs: 5000 });
    const since = client.eventCursor();
    await client.execute('block-commit', { device: 'drive0', 'job-id': 'commit-job' });
    await client.waitForEvent('BLOCK_JOB_READY', undefined, { since, timeoutMs: 5000 });
    await client.execute('block-job-complete', { device: 'commit-job' });
    await client.waitForEvent('JOB_STATUS_CHANGE', { status: 'null' }, { since, timeoutMs: 5000 });
    await client.close();
    await sink.close();
    const trace = readTrace(file);
    t.equal(trace.header?.note, 'client-side trace', 'the header should carry the note');
    t.same(trace.header?.qemu, client.greeting.QMP.version, 'the header should carry the version from the greeting');
    t.same(
      recordedCommands(trace).map((c) => c.name),
      ['qmp_capabilities', 'block-commit', 'block-job-complete'],
      'every command should be in the trace',
    );
    const replayed = await serveTrace(t, { trace, instant: true });
    const result = await playCommands(replayed.path!, recordedCommands(trace), recordedEvents(trace).length);
    t.same(
      result.events.map((e) => e.event),
      recordedEvents(trace).map((e) => e.event),
      'the client-side trace should replay with the same events',
    );
  });
