// A bare -blockdev chain has no guest device or -drive above it: block-job-complete would "succeed" and
// switch nothing. The library and the CLI refuse to call that a pivot, and say what to do instead.
import path from 'node:path';
import t from 'tap';
import { CommitJob, JobStateError, resolveCommitRange, resolveDisk } from '../src/internal.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { buildSeedChain, blockdevChainArgs } from './helpers/chain.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';

t.test('library: pivot() refuses, keepOverlay() ends the job', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: blockdevChainArgs(layers) });
  const job = await CommitJob.start(client, resolveCommitRange(await resolveDisk(client, 'n4'), {}));
  await job.waitUntilReady({ timeoutMs: 30_000 });
  const refused = await job.pivot().catch((e: unknown) => e);
  t.ok(refused instanceof JobStateError, `pivot should be refused with JobStateError, got ${String(refused)}`);
  t.match(
    (refused as Error).message,
    /on n4: no guest device, -drive or export uses that chain, so nothing would switch to base; keep the overlay instead/,
    'the message should say why and what to do',
  );
  const result = await job.keepOverlay({ timeoutMs: 30_000 });
  t.equal(result.outcome, 'overlay-kept', 'the job should still end cleanly');
});

t.test('CLI: commit --pivot on a bare chain exits 1 before starting a job', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: [...blockdevChainArgs(layers), ...extraMonitorArgs(cli)] });
  const result = await runCli(['commit', 'n4', '--active', '--pivot', '--socket', cli]);
  t.equal(result.code, 1, 'exit 1');
  t.match(result.stderr, /cannot pivot a commit on n4: no guest device, -drive or export uses that chain.*keep the overlay/, 'one clear line');
  t.same(await client.execute('query-block-jobs'), [], 'no job should have been started');
});
