// A job's full history: a state listener attached after READY is told every state from "created" on;
// the client's typed events narrow by name.
import { CommitJob, connect, resolveCommitRange, resolveDisk, type JobStatus } from 'qmp-blockjob';

const [socket = '', name = 'drive0'] = process.argv.slice(2);
const client = await connect({ path: socket });
try {
  const since = client.eventCursor();
  const job = await CommitJob.start(client, resolveCommitRange(await resolveDisk(client, name), { active: true }));
  await job.waitUntilReady({ timeoutMs: 60_000 });
  const states: JobStatus[] = [];
  job.on('state', (change) => states.push(change.status));
  await job.pivot({ timeoutMs: 60_000 });
  const ready = await client.waitForEvent('BLOCK_JOB_READY', { device: job.id }, { since, timeoutMs: 1000 });
  const lens: number[] = [];
  for (const event of client.recentEvents(since)) if (event.event === 'BLOCK_JOB_COMPLETED') lens.push(Number(event.data.len));
  console.log(JSON.stringify({ states, readyLen: ready.data.len, completedLen: lens[0] }));
} finally {
  await client.close();
}
