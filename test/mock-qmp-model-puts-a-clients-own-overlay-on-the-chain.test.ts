// A client's own snapshot against `mock-qmp serve --model` of a recorded transcript that took one
// (snapshot-then-commit, blockdev-snapshot-sync of drive0): the library's createSnapshots (a
// transaction under a random snap-… node name and a file of its own), and an overlay added by the
// client (blockdev-add under its own node name and file) put on with blockdev-snapshot, as an embedder
// or libvirt does. Either way the chain read afterwards (listDisks, what `chain` shows) ends in the
// client's own node and file on top of what QEMU had, as on QEMU.
import path from 'node:path';
import t, { type Test } from 'tap';
import { connect } from '../src/connect.js';
import { createSnapshots, listDisks } from '../src/block/index.js';
import { fixturePath, fixtureSets, tempDir } from './helpers/qemu.js';
import { finished, mockQmpListening, startMockQmpCli } from './helpers/cli.js';

async function serve(t: Test, trace: string): Promise<string> {
  const socket = path.join(tempDir(t), 'mock.sock');
  const server = startMockQmpCli(['serve', '--model', '--trace', trace, '--socket', socket, '--instant']);
  const ended = finished(server, 120_000);
  t.teardown(async () => {
    server.kill('SIGTERM');
    await ended;
  });
  await mockQmpListening(server);
  return socket;
}

const chainOf = async (socket: string): Promise<string[]> => {
  const client = await connect({ path: socket }, { connectTimeoutMs: 5000 });
  try {
    const disks = await listDisks(client, { timeoutMs: 5000 });
    return disks.find((d) => d.driveId === 'drive0')!.layers.map((l) => `${l.nodeName} ${l.file}`);
  } finally {
    await client.close();
  }
};

for (const set of fixtureSets()) {
  const trace = fixturePath('snapshot-then-commit.jsonl', set);

  t.test(`${set}: createSnapshots' own snap-… node and file end the chain`, async (t) => {
    const socket = await serve(t, trace);
    const before = await chainOf(socket);
    const file = path.join(tempDir(t), 'mine.qcow2');
    const client = await connect({ path: socket }, { connectTimeoutMs: 5000 });
    t.teardown(() => client.close());
    const [chain] = await createSnapshots(client, [{ disk: 'drive0', file }], { files: null, timeoutMs: 5000 });
    const top = chain!.layers.at(-1)!;
    t.match(top.nodeName, /^snap-[0-9a-f]{8}$/, "the overlay under the library's random node name");
    t.same(await chainOf(socket), [...before, `${top.nodeName} ${file}`], "a later reader sees the client's overlay on top of what QEMU had");
  });

  t.test(`${set}: blockdev-add of the client's own overlay, then blockdev-snapshot, ends the chain`, async (t) => {
    const socket = await serve(t, trace);
    const before = await chainOf(socket);
    const top = before.at(-1)!.split(' ')[0]!;
    const file = path.join(tempDir(t), 'own.qcow2');
    const client = await connect({ path: socket }, { connectTimeoutMs: 5000 });
    t.teardown(() => client.close());
    await client.execute('blockdev-add', { driver: 'qcow2', 'node-name': 'own-overlay', file: { driver: 'file', filename: file }, backing: null } as never);
    await client.execute('blockdev-snapshot', { node: top, overlay: 'own-overlay' } as never);
    t.same(await chainOf(socket), [...before, `own-overlay ${file}`], 'the overlay the client added is on top, under its own node name and file');
  });
}
