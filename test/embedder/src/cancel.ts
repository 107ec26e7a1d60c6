// Cancel after half a second, with a signal: the start's cancelSignal cancels the job once it exists.
import { CommitJob, connect, resolveCommitRange, resolveDisk } from 'qmp-blockjob';

const [socket = '', name = 'drive0'] = process.argv.slice(2);
const client = await connect({ path: socket });
try {
  const disk = await resolveDisk(client, name);
  const job = await CommitJob.start(client, resolveCommitRange(disk, { active: true }), { speed: 64 * 1024, cancelSignal: AbortSignal.timeout(500) });
  const progress: number[] = [];
  for await (const p of job.progress({ intervalMs: 100 })) progress.push(p.offset);
  const result = await job.wait({ timeoutMs: 30_000 });
  const after = await resolveDisk(client, name);
  console.log(JSON.stringify({ outcome: result.outcome, states: result.states, readings: progress.length, guestOn: after.layers.at(-1)?.file }));
} finally {
  await client.close();
}
