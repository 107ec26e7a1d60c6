// The seed procedure: an intermediate commit (the image below the top into base), then an active
// commit of what is left, pivoted onto base. Prints one JSON line.
import { CommitJob, connect, resolveCommitRange, resolveDisk } from 'qmp-blockjob';

const [socket = '', name = 'drive0'] = process.argv.slice(2);
const client = await connect({ path: socket });
try {
  const disk = await resolveDisk(client, name);
  const below = disk.layers.at(-2);
  if (!below) throw new Error(`${name} has no image below its top`);
  const intermediate = await CommitJob.start(client, resolveCommitRange(disk, { top: below.file }));
  const merged = await intermediate.wait({ timeoutMs: 60_000 });
  const active = await CommitJob.start(client, resolveCommitRange(await resolveDisk(client, name), { active: true }));
  await active.waitUntilReady({ timeoutMs: 60_000 });
  const pivoted = await active.pivot({ timeoutMs: 60_000 });
  const after = await resolveDisk(client, name);
  console.log(
    JSON.stringify({
      intermediate: merged.outcome,
      active: pivoted.outcome,
      states: pivoted.states,
      chain: after.layers.map((l) => l.file),
      msToReady: pivoted.timings.msToReady,
    }),
  );
} finally {
  await client.close();
}
