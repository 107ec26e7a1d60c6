// A controller in its own process, to be SIGKILLed mid-job: connects to the given monitor socket,
// starts a bandwidth-limited commit of the given range, prints "started <job id>", then waits.
import { CommitJob } from '../../src/jobs/index.js';
import type { CommitRange } from '../../src/block/types.js';
import { connect } from '../../src/connect.js';

const [socketPath, rangeJson, speed] = process.argv.slice(2);
if (!socketPath || !rangeJson) {
  process.stderr.write('usage: commit-child <socket> <range json> [speed]\n');
  process.exit(2);
}
const client = await connect({ path: socketPath }, { connectTimeoutMs: 10_000 });
const job = await CommitJob.start(client, JSON.parse(rangeJson) as CommitRange, { speed: Number(speed ?? 65536) });
process.stdout.write(`started ${job.id} ${job.status}\n`);
// Bounded: the parent kills us long before this.
await job.wait({ timeoutMs: 60_000 }).catch(() => {});
await client.close();
