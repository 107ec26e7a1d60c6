// As against QEMU (a-state-listener-attached-late-sees-the-job-from-created-on): against the model of a
// recorded active commit, which answers at once, a listener attached after start() is told every state.
import path from 'node:path';
import t from 'tap';
import { startMockQmp } from '../../mock-qmp/index.js';
import { connect } from '../../src/connect.js';
import { resolveCommitRange } from '../../src/block/address.js';
import { resolveDisk } from '../../src/block/chain.js';
import { CommitJob } from '../../src/jobs/index.js';
import { withoutBlips } from '../../src/jobs/state.js';
import type { JobStatus } from '../../src/qapi/types.js';
import { fixtureSets } from './helpers/recorded.js';

const WAIT = { timeoutMs: 5000 };

for (const set of fixtureSets()) {
  t.test(`${set.name}: a late state listener sees the modelled commit from created on`, async (t) => {
    const mock = await startMockQmp({ trace: path.join(set.dir, 'raw', 'active-commit-pivot.jsonl'), model: true, instant: true });
    t.teardown(() => mock.close());
    const client = await connect(mock.address, { connectTimeoutMs: 2000 });
    t.teardown(() => client.close());
    const disk = await resolveDisk(client, 'vd0', WAIT);
    const job = await CommitJob.start(client, resolveCommitRange(disk, {}), { jobId: 'late-listener' });
    await job.waitUntilReady(WAIT);
    const seen: JobStatus[] = [];
    job.on('state', (change) => seen.push(change.status));
    await job.pivot(WAIT);
    t.same(
      withoutBlips(seen.map((status) => ({ status, at: 0 }))),
      ['created', 'running', 'ready', 'waiting', 'pending', 'concluded', 'null'],
      `the whole state sequence (seen ${seen.join(',')})`,
    );
  });
}
