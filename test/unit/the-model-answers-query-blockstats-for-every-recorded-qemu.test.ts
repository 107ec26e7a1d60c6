// Every QEMU answers query-blockstats (the CLI's convergence guard reads the guest's wr_bytes from
// it), so the model does, for any transcript, recorded with it or not: one entry per device of the
// graph as it stands, the recorded QEMU's device names, and wr_bytes growing by what a client writes
// through the guest (HMP qemu-io), as on QEMU.
import path from 'node:path';
import t from 'tap';
import { startMockQmp } from '../../mock-qmp/index.js';
import { connect } from '../../src/connect.js';
import { fixtureSets, recordedReturns } from './helpers/recorded.js';

for (const set of fixtureSets())
  t.test(`${set.name}: query-blockstats from the model`, async (t) => {
    const file = path.join(set.dir, 'raw', 'guest-writes.jsonl');
    t.same(recordedReturns(file, 'query-blockstats'), [], 'the transcript itself should have no query-blockstats');
    const mock = await startMockQmp({ trace: file, model: true });
    t.teardown(() => mock.close());
    const client = await connect(mock.address, { connectTimeoutMs: 2000 });
    t.teardown(() => client.close());
    const before = await client.execute('query-blockstats');
    const blocks = await client.execute('query-block');
    t.same(
      before.map((s) => [s.device, s.qdev]),
      blocks.map((b) => [b.device, b.qdev]),
      'one entry per device query-block shows',
    );
    t.same(
      before.map((s) => s.stats.wr_bytes),
      blocks.map(() => 0),
      'nothing written yet',
    );
    await client.execute('human-monitor-command', { 'command-line': 'qemu-io -d /machine/peripheral/vd0/virtio-backend "write -P 0x55 0 1M"' });
    const after = await client.execute('query-blockstats');
    const vd0 = after.find((s) => s.qdev === '/machine/peripheral/vd0/virtio-backend');
    t.equal(vd0?.stats.wr_bytes, 1024 * 1024, 'a guest write of 1 MiB counts on vd0');
  });
