// In the default (lenient) mode an unrecorded command gets QEMU's own CommandNotFound, repeated queries
// are answered from the recording, and a command before negotiation gets QEMU's negotiation error.
import t from 'tap';
import { QmpCommandError } from '../src/internal.js';
import { fixturePath, fixtureSets } from './helpers/qemu.js';
import { readTrace, serveTrace } from './helpers/replay.js';
import { connect } from '../src/connect.js';

for (const set of fixtureSets())
  t.test(`${set}: unknown command, repeated query and pre-negotiation command`, async (t) => {
    const server = await serveTrace(t, { trace: readTrace(fixturePath('active-commit-pivot.jsonl', set)), instant: true });
    const early = await connect({ path: server.path! }, { negotiate: false, connectTimeoutMs: 5000 });
    const refused = await early.execute('query-block-jobs').catch((e: unknown) => e);
    t.equal((refused as QmpCommandError).errorClass, 'CommandNotFound', 'a command before qmp_capabilities should be CommandNotFound');
    t.equal((refused as QmpCommandError).desc, "Expecting capabilities negotiation with 'qmp_capabilities'", "with QEMU's text");
    await early.close();

    const client = await connect({ path: server.path! }, { connectTimeoutMs: 5000, commandTimeoutMs: 5000 });
    t.teardown(() => client.close());
    const unknown = await client.executeUntyped('no-such-command').catch((e: unknown) => e);
    t.ok(unknown instanceof QmpCommandError, 'an unknown command should be a QmpCommandError');
    t.equal((unknown as QmpCommandError).errorClass, 'CommandNotFound', 'class should be CommandNotFound');
    t.equal((unknown as QmpCommandError).desc, 'The command no-such-command has not been found', "desc should be QEMU's text");
    const first = await client.execute('query-block-jobs');
    const again = await client.execute('query-block-jobs');
    t.ok(Array.isArray(first) && Array.isArray(again), 'repeated queries should both be answered from the recording');
  });
