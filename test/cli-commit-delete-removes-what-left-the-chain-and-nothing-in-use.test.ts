// `commit … --delete` as virsh does it: every image the commit took out of the chain is deleted and
// named (intermediate: a and b; pivot: all but base). Nothing is deleted when nothing left the chain
// (keep-overlay), when the job did not succeed, or when the live chain, read again right before,
// runs on an image that is no longer on disk (then the old layers may be the only copy).
import { existsSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import t, { type Test as Tap } from 'tap';
import { qemuIo, resolveDisk } from '../src/internal.js';
import { CommitJob, deleteCommittedImages, ImageDeletionError } from '../src/jobs/index.js';
import { resolveCommitRange } from '../src/block/index.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { buildSeedChain, expectedView, readChecks } from './helpers/chain.js';
import { extraMonitorArgs, finished, jsonLines, runCli, startCli, waitForLine } from './helpers/cli.js';

async function driveGuest(t: Tap) {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const files = layers.map((l) => l.file) as [string, string, string, string];
  const started = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${files[3]},format=qcow2`, ...extraMonitorArgs(cli)] });
  return { ...started, cli, layers, files };
}

t.test('intermediate --delete removes a and b (--json lists them), then --pivot --delete removes c', async (t) => {
  const g = await driveGuest(t);
  const [base, a, b, c] = g.files;
  const first = await runCli(['commit', 'drive0', '--base', 'drive0[1]', '--top', 'drive0[3]', '--wait', '--delete', '--json', '--socket', g.cli]);
  t.equal(first.code, 0, `intermediate commit should succeed; stderr: ${first.stderr}`);
  const listed = jsonLines(first.stdout).find((l) => l.type === 'invalidated');
  t.same(listed?.deleted, [a, b], 'both images that left the chain are deleted and listed, in chain order');
  t.ok(!existsSync(a) && !existsSync(b), 'a.qcow2 and b.qcow2 are gone');
  t.ok(existsSync(c) && existsSync(base), 'the active image and base stay');

  const second = await runCli(['commit', 'drive0', '--active', '--pivot', '--delete', '--socket', g.cli]);
  t.equal(second.code, 0, `active commit should succeed; stderr: ${second.stderr}`);
  t.match(second.stdout, new RegExp(`^Deleted: ${c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'), 'the output names the deleted old top');
  t.notOk(existsSync(c), 'after the pivot the old top c.qcow2 is deleted');
  await g.client.execute('quit').catch(() => undefined);
  await g.qemu.exited;
  await t.resolves(qemuIo(base, readChecks(expectedView(g.layers)), { format: 'raw' }), 'base holds everything the guest saw');
});

t.test('keep-overlay: nothing left the chain, so nothing is deleted (library) and the CLI refuses the combination', async (t) => {
  const g = await driveGuest(t);
  const refused = await runCli(['commit', 'drive0', '--active', '--keep-overlay', '--delete', '--socket', g.cli]);
  t.equal(refused.code, 2, '--keep-overlay --delete is a usage error');
  t.same(await g.client.execute('query-block-jobs'), [], 'no job was started');
  const range = resolveCommitRange(await resolveDisk(g.client, 'drive0'), {});
  const job = await CommitJob.start(g.client, range);
  await job.waitUntilReady({ timeoutMs: 30_000 });
  const result = await job.keepOverlay({ timeoutMs: 30_000 });
  await t.rejects(deleteCommittedImages(g.client, range, result), ImageDeletionError, 'deleting after keep-overlay is refused');
  for (const file of g.files) t.ok(existsSync(file), `${path.basename(file)} is still there: the guest still runs on the whole chain`);
});

t.test('--pivot --delete deletes nothing when base is no longer on disk under its name', async (t) => {
  const g = await driveGuest(t);
  const child = startCli(['commit', 'drive0', '--active', '--pivot', '--delete', '--bandwidth', '4', '--json', '--socket', g.cli]);
  t.teardown(() => child.kill('SIGKILL'));
  const done = finished(child);
  await waitForLine(child, (line) => line.includes('"type":"started"'));
  // QEMU holds base open (the job writes into it); unlinked now, the disk goes on, but nothing of it is left on disk but the old layers.
  unlinkSync(g.files[0]);
  const result = await done;
  const lines = jsonLines(result.stdout);
  t.equal(result.code, 1, `the commit pivoted, but the deletion is refused: exit 1; stderr: ${result.stderr}`);
  t.ok(
    lines.some((l) => l.type === 'message' && l.message === 'Successfully pivoted'),
    'the pivot itself is reported',
  );
  t.match(result.stderr, /nothing deleted.*no longer on disk under that name/, `the refusal says why; stderr: ${result.stderr}`);
  for (const file of g.files.slice(1)) t.ok(existsSync(file), `${path.basename(file)} is kept`);
});
