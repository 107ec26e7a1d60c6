// `mock-qmp serve --model`: events carry the current time, or with --recorded-time the timestamps QEMU
// gave them; query-qmp-schema and query-commands come from the transcript, or with --schema FILE from
// another transcript of the same QEMU when this one never asked.
import path from 'node:path';
import t, { type Test } from 'tap';
import { connect } from '../src/connect.js';
import { fixturePath, fixtureSets, tempDir } from './helpers/qemu.js';
import { readTrace } from './helpers/replay.js';
import { playRaw, rawSteps } from './helpers/raw-transcript.js';
import { finished, mockQmpListening, startMockQmpCli } from './helpers/cli.js';
import type { ChildProcess } from 'node:child_process';

const raw = (set: string, name: string): string => path.join(path.dirname(fixturePath('x', set)), 'raw', `${name}.jsonl`);

async function serve(t: Test, args: string[]): Promise<string> {
  const socket = path.join(tempDir(t), 'mock.sock');
  const child: ChildProcess = startMockQmpCli(['serve', '--model', '--instant', '--socket', socket, ...args]);
  const done = finished(child, 30_000);
  t.teardown(async () => {
    child.kill('SIGTERM');
    await done;
  });
  await mockQmpListening(child);
  return socket;
}

for (const set of fixtureSets()) {
  t.test(`${set}: --recorded-time keeps QEMU's timestamps`, async (t) => {
    const file = raw(set, 'keep-overlay');
    const trace = readTrace(file);
    const recorded = trace.messages.filter((m) => m.dir === 'in' && 'event' in m.msg);
    const socket = await serve(t, ['--trace', file, '--recorded-time']);
    const run = await playRaw(socket, rawSteps(trace), { events: recorded.length });
    t.same(
      run.events.map((e) => e.timestamp),
      recorded.map((m) => m.msg.timestamp),
      'every event should carry its recorded timestamp',
    );
  });

  t.test(`${set}: --schema serves a recorded schema to a transcript without one`, async (t) => {
    const schemaFile = raw(set, 'invalid-sequences');
    const schema = readTrace(schemaFile).messages.find(
      (m) => m.dir === 'in' && m.msg.id === readTrace(schemaFile).messages.find((o) => o.msg.execute === 'query-qmp-schema')?.msg.id,
    )?.msg.return;
    t.ok(Array.isArray(schema) && schema.length > 100, "the schema transcript should hold QEMU's schema");
    const file = raw(set, 'active-commit-pivot');
    t.notOk(
      readTrace(file).messages.some((m) => m.msg.execute === 'query-qmp-schema'),
      'the served transcript should not have asked for the schema',
    );
    const socket = await serve(t, ['--trace', file, '--schema', schemaFile]);
    const client = await connect({ path: socket }, { connectTimeoutMs: 5000 });
    t.teardown(() => client.close());
    t.same(await client.executeUntyped('query-qmp-schema'), schema, 'query-qmp-schema should be the recorded one');
    const commands = (await client.execute('query-commands')).map((c) => c.name);
    t.ok(
      commands.includes('block-commit') && commands.includes('query-named-block-nodes') && commands.length > 100,
      `query-commands should be QEMU's list, got ${commands.length}`,
    );
  });
}
