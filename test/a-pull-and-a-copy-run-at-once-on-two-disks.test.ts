// Two jobs of different types at once on one guest: a pull on vda and a copy on vdb, both
// throttled so they overlap; each ends as asked and leaves its own disk right.
import path from 'node:path';
import t from 'tap';
import { qemuIo, resolveDisk, resolvePullRange, MirrorJob, StreamJob } from '../src/internal.js';
import { expectedView, readChecks } from './helpers/chain.js';
import { startTwoDiskGuest } from './helpers/two-disks.js';

t.test('a pull on vda and a copy on vdb', async (t) => {
  const g = await startTwoDiskGuest(t);
  const vda = await resolveDisk(g.client, 'vda');
  const vdb = await resolveDisk(g.client, 'vdb');
  const dest = path.join(g.dir, 'vdb-copy.qcow2');
  const pull = await StreamJob.start(g.client, resolvePullRange(vda, {}), { speed: 1024 * 1024 });
  const copy = await MirrorJob.start(g.client, vdb, { file: dest }, { speed: 1024 * 1024 });
  const running = (await g.client.execute('query-block-jobs')).map((j) => [j.device, j.type]).sort();
  t.same(
    running,
    [
      ['copy-vdb', 'mirror'],
      ['pull-vda', 'stream'],
    ],
    'both jobs run at the same time',
  );
  await Promise.all([pull.setSpeed(0), copy.setSpeed(0)]);
  await copy.waitUntilReady({ timeoutMs: 60_000 });
  const [pulled, copied] = await Promise.all([pull.wait({ timeoutMs: 60_000 }), copy.pivot({ timeoutMs: 60_000 })]);
  t.equal(pulled.outcome, 'completed', 'the pull completes');
  t.equal(copied.outcome, 'pivoted', 'the copy pivots');
  t.same(
    (await resolveDisk(g.client, 'vda')).layers.map((l) => l.file),
    [g.vda[3]!.file],
    'vda stands alone on its active image',
  );
  t.same(
    (await resolveDisk(g.client, 'vdb')).layers.map((l) => l.file),
    [dest],
    'vdb runs on the copy',
  );
  await g.client.execute('quit').catch(() => undefined);
  await g.qemu.exited;
  await t.resolves(qemuIo(g.vda[3]!.file, readChecks(expectedView(g.vda)), { format: 'qcow2' }), 'vda reads what the guest saw');
  await t.resolves(qemuIo(dest, readChecks(expectedView(g.vdb)), { format: 'qcow2' }), 'the copy of vdb reads what the guest saw');
});
