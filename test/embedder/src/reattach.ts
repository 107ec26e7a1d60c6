// Reattach: one controller starts a throttled active commit and goes away without touching it; the
// next one finds the job from the disk, lifts the limit, waits for READY and pivots.
import { CommitJob, connect, resolveCommitRange, resolveDisk } from 'qmp-blockjob';

const [socket = '', name = 'drive0'] = process.argv.slice(2);
const first = await connect({ path: socket });
const started = await CommitJob.start(first, resolveCommitRange(await resolveDisk(first, name), { active: true }), { speed: 64 * 1024 });
await started.detach();
await first.close();

const client = await connect({ path: socket }, { connectTimeoutMs: 10_000 });
try {
  const range = resolveCommitRange(await resolveDisk(client, name), { active: true });
  const job = await CommitJob.attach(client, { range });
  await job.setSpeed(0, { timeoutMs: 10_000 });
  await job.waitUntilReady({ timeoutMs: 60_000 });
  const result = await job.pivot({ timeoutMs: 60_000 });
  console.log(JSON.stringify({ id: job.id, sameId: job.id === started.id, outcome: result.outcome, states: result.states }));
} finally {
  await client.close();
}
