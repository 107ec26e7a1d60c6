// `node dist/bench/raw-commit.js SOCKET DEVICE [JOB_ID]`: the minimal event-driven raw-socket active
// commit + pivot (the floor for a live commit in bench/e2e.ts). Exit 0 once BLOCK_JOB_COMPLETED arrived.
import { RawQmp } from './raw-qmp.js';

const [socketPath, device, jobId = 'commit-raw'] = process.argv.slice(2);
if (!socketPath || !device) {
  process.stderr.write('usage: raw-commit.js SOCKET DEVICE [JOB_ID]\n');
  process.exit(2);
}
try {
  const client = await RawQmp.connect(socketPath);
  await client.activeCommit(device, jobId);
  client.close();
} catch (error) {
  process.stderr.write(`raw-commit: ${(error as Error).message}\n`);
  process.exit(1);
}
