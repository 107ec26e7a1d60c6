// With the model, --strict lets through every command the transcript can answer — a client's own job
// id and its own spelling of the same commit included — and answers the first one it cannot with a
// GenericError naming the transcript line of the nearest recorded command, reported to onError, then
// ends the connection.
import path from 'node:path';
import t from 'tap';
import { QmpCommandError, type QmpError } from '../src/internal.js';
import { ReplayDeviationError } from '../mock-qmp/index.js';
import { fixturePath, fixtureSets } from './helpers/qemu.js';
import { readTrace, serveTrace } from './helpers/replay.js';
import { connect } from '../src/connect.js';

for (const set of fixtureSets())
  t.test(`${set}: strict model`, async (t) => {
    const file = path.join(path.dirname(fixturePath('x', set)), 'raw', 'active-commit-pivot.jsonl');
    const trace = readTrace(file);
    const commitLine = trace.messages.find((m) => m.dir === 'out' && m.msg.execute === 'block-commit')!.line;
    const errors: QmpError[] = [];
    const server = await serveTrace(t, { trace, instant: true, model: true, strict: true, onError: (e) => errors.push(e) });
    const client = await connect({ path: server.path! }, { connectTimeoutMs: 5000, commandTimeoutMs: 5000 });
    t.teardown(() => client.close());
    await client.execute('query-block');
    await client.execute('query-jobs');
    const since = client.eventCursor();
    // The recording said device "c"; this is the same commit in our controller's words.
    await client.execute('block-commit', { 'job-id': 'mine', device: 'c', 'top-node': 'c', 'base-node': 'base' });
    await client.waitForEvent('BLOCK_JOB_READY', { device: 'mine' }, { timeoutMs: 5000, since });
    t.same(errors, [], 'an equivalent commit under another job id should be answered');

    // A fresh QEMU (server) for a commit the transcript never did: an intermediate one.
    const fresh = await serveTrace(t, { trace, instant: true, model: true, strict: true, onError: (e) => errors.push(e) });
    const second = await connect({ path: fresh.path! }, { connectTimeoutMs: 5000, commandTimeoutMs: 5000 });
    t.teardown(() => second.close());
    const error = await second.execute('block-commit', { 'job-id': 'other', device: 'c', 'top-node': 'b', 'base-node': 'a' }).catch((e: unknown) => e);
    t.ok(error instanceof QmpCommandError, `expected a QmpCommandError, got ${String(error)}`);
    t.equal((error as QmpCommandError).errorClass, 'GenericError', 'the deviation should be a GenericError');
    t.match(
      (error as QmpCommandError).desc,
      new RegExp(`raw/active-commit-pivot\\.jsonl:${commitLine}: expected \\{"execute":"block-commit".*got \\{"execute":"block-commit"`),
      'desc should name the transcript line of the recorded commit',
    );
    t.equal(errors.length, 1, 'onError should be called once');
    t.ok(errors[0] instanceof ReplayDeviationError, 'the report should be a ReplayDeviationError');
    t.equal((errors[0] as ReplayDeviationError).line, commitLine, 'the report should carry the line');
    await second.closed();
    t.pass('the server should end the connection after the deviation');
  });
