// connect({ socket }): a net.Socket (or any duplex stream) the caller opened is spoken QMP over, from
// the greeting on, as qemu.qmp's open_with_socket; closing the client ends the socket.
import net from 'node:net';
import path from 'node:path';
import { once } from 'node:events';
import t from 'tap';
import { startMockQmp } from '../../mock-qmp/index.js';
import { connect } from '../../src/connect.js';
import { resolveDisk } from '../../src/block/chain.js';
import { fixtureSets } from './helpers/recorded.js';

const set = fixtureSets()[0]!;

t.test('a net.Socket the caller opened', async (t) => {
  const mock = await startMockQmp({ trace: path.join(set.dir, 'raw', 'active-commit-pivot.jsonl'), model: true, instant: true });
  t.teardown(() => mock.close());
  const socket = net.connect(mock.address);
  await once(socket, 'connect');
  const client = await connect({ socket, peer: 'my socket' }, { connectTimeoutMs: 5000 });
  t.equal(client.peer, 'my socket', 'the peer is named as the caller said');
  t.equal(typeof client.greeting.QMP.version.qemu.major, 'number', "QEMU's greeting was read from the socket");
  const disk = await resolveDisk(client, 'vd0', { timeoutMs: 5000 });
  t.same(
    disk.layers.map((l) => l.nodeName),
    ['base', 'a', 'b', 'c'],
    'commands go over it',
  );
  await client.close();
  t.ok(socket.destroyed, 'closing the client ended the socket');
});
