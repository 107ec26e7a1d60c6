// A unit test an embedder writes on mock-qmp: the model of a recorded active commit, no QEMU.
import assert from 'node:assert/strict';
import { CommitJob, connect, resolveCommitRange, resolveDisk } from 'qmp-blockjob';
import { startMockQmp } from 'qmp-blockjob/mock-qmp';

const [trace = ''] = process.argv.slice(2);
const mock = await startMockQmp({ trace, model: true, instant: true });
try {
  const client = await connect(mock.address, { connectTimeoutMs: 5000 });
  try {
    const disk = await resolveDisk(client, 'vd0', { timeoutMs: 5000 });
    const job = await CommitJob.start(client, resolveCommitRange(disk, {}));
    await job.waitUntilReady({ timeoutMs: 5000 });
    const result = await job.pivot({ timeoutMs: 5000 });
    assert.equal(result.outcome, 'pivoted');
    const after = await resolveDisk(client, 'vd0', { timeoutMs: 5000 });
    console.log(JSON.stringify({ outcome: result.outcome, before: disk.layers.map((l) => l.nodeName), after: after.layers.map((l) => l.nodeName) }));
  } finally {
    await client.close();
  }
} finally {
  await mock.close();
}
