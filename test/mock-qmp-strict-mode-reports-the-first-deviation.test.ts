// --strict answers the first command that deviates from the recording with a GenericError naming the
// trace line, what was expected and what came, reports it to onError, and ends the connection.
import t from 'tap';
import { QmpCommandError, type QmpError } from '../src/internal.js';
import { ReplayDeviationError } from '../mock-qmp/index.js';
import { fixturePath, fixtureSets } from './helpers/qemu.js';
import { readTrace, serveTrace } from './helpers/replay.js';
import { connect } from '../src/connect.js';

for (const set of fixtureSets())
  t.test(`${set}: a wrong command in strict mode is a clear error reply and an onError report`, async (t) => {
    const errors: QmpError[] = [];
    const file = fixturePath('active-commit-pivot.jsonl', set);
    const trace = readTrace(file);
    const commitLine = trace.messages.find((m) => m.dir === 'out' && m.msg.execute === 'block-commit')!.line;
    const server = await serveTrace(t, { trace, instant: true, strict: true, onError: (e) => errors.push(e) });
    const client = await connect({ path: server.path! }, { connectTimeoutMs: 5000, commandTimeoutMs: 5000 });
    t.teardown(() => client.close());
    // The recorded graph prelude, as recorded: strict mode follows it, and the deviation comes after it.
    await client.execute('query-block');
    await client.execute('query-named-block-nodes', { flat: true });
    await client.execute('query-block-exports');
    const error = await client.execute('block-job-complete', { device: 'commit-job' }).catch((e: unknown) => e);
    t.ok(error instanceof QmpCommandError, `expected a QmpCommandError, got ${String(error)}`);
    const e = error as QmpCommandError;
    t.equal(e.errorClass, 'GenericError', 'the deviation should be a GenericError');
    t.match(
      e.desc,
      new RegExp(`active-commit-pivot\\.jsonl:${commitLine}: expected \\{"execute":"block-commit".*got \\{"execute":"block-job-complete"`),
      'desc should name the line, the expected and the received command',
    );
    t.ok(commitLine > 5, 'the recorded block-commit should come after the graph prelude');
    t.equal(errors.length, 1, 'onError should be called once');
    t.ok(errors[0] instanceof ReplayDeviationError, 'the report should be a ReplayDeviationError');
    t.equal((errors[0] as ReplayDeviationError).line, commitLine, 'the report should carry the trace line');
    await client.closed();
    t.pass('the server should end the connection after the deviation');
  });
