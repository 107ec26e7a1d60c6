// Typed errors: each mistake is caught by its class, with its facts as typed fields.
import { connect, DiskNotFoundError, JobStateError, MonitorBusyError, QmpCommandError, CommitJob, resolveCommitRange, resolveDisk } from 'qmp-blockjob';

const [socket = '', name = 'drive0'] = process.argv.slice(2);
const client = await connect({ path: socket });
const caught: Record<string, string> = {};
try {
  try {
    await resolveDisk(client, 'no-such-disk');
  } catch (error) {
    if (error instanceof DiskNotFoundError) caught.disk = error.constructor.name;
  }
  try {
    await client.executeUntyped('no-such-command');
  } catch (error) {
    if (error instanceof QmpCommandError) caught.command = `${error.errorClass} ${error.command}`;
  }
  try {
    await connect({ path: socket });
  } catch (error) {
    if (error instanceof MonitorBusyError) caught.busy = `${error.waitedMs}`;
  }
  const job = await CommitJob.start(client, resolveCommitRange(await resolveDisk(client, name), { active: true }), { speed: 64 * 1024 });
  try {
    await job.pivot();
  } catch (error) {
    if (error instanceof JobStateError) caught.pivot = `${error.status} ${error.verb ?? ''}`;
  }
  const cancelled = await job.cancel({ timeoutMs: 30_000 });
  caught.cancel = cancelled.outcome;
  console.log(JSON.stringify(caught));
} finally {
  await client.close();
}
