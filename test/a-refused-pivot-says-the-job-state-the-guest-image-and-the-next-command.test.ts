// A refused pivot says where the data is. QEMU's refusal: the CLI's job-complete is held in a proxy
// while another client ends the job (cancel at READY: the guest stays on top), then let through —
// QEMU answers "Job not found" (GenericError; block-job-complete said DeviceNotActive). The library's
// refusal before sending: a pivot of a job not READY yet. Each time the library's error carries the
// facts read back right then (the job's status, the image the guest runs on) and the CLI adds, in
// one place, what to type next. Nothing is changed by a refusal: the data is checked after each.
import path from 'node:path';
import t from 'tap';
import { CommitJob, JobCommandError, JobStateError, qemuIo, resolveDisk } from '../src/internal.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { buildSeedChain, expectedView, readChecks } from './helpers/chain.js';
import { extraMonitorArgs, finished, runCli, startCli } from './helpers/cli.js';
import { holdFirst } from './helpers/held-reply.js';
import { rangeOf } from './helpers/range.js';

t.test('QEMU refuses the pivot of a job another client ended: gone, the guest on top, what next', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const top = layers[3]!.file;
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${top},format=qcow2`, ...extraMonitorArgs(cli)] });
  const job = await CommitJob.start(client, rangeOf(await resolveDisk(client, 'drive0'), 4, 1));
  t.teardown(() => job.detach());
  await job.waitUntilReady({ timeoutMs: 30_000 });

  const proxy = await holdFirst(t, dir, cli, 'job-complete', 'command'); // the command QEMU's schema chooses on every QEMU we run
  const child = startCli(['job', 'drive0', '--pivot', '--socket', proxy.path]);
  t.teardown(() => child.kill('SIGKILL'));
  const done = finished(child);
  await proxy.held;
  const kept = await job.keepOverlay({ timeoutMs: 30_000 });
  t.equal(kept.outcome, 'overlay-kept', 'the other client ended the job with the guest on top');
  proxy.release();
  const result = await done;
  t.equal(result.code, 1, 'the refused pivot exits 1');
  const lines = result.stderr.trim().split('\n');
  const line = lines[0] ?? '';
  t.equal(lines.length, 1, `one line: ${result.stderr}`);
  t.match(
    line,
    /cannot pivot commit job 'commit-drive0' on drive0: QEMU refused job-complete \(GenericError: Job not found\)/,
    "QEMU's refusal of the command the schema chose, in its class for job-*",
  );
  t.match(line, /; the job is no longer in QEMU; the guest runs on /, "the job's state, read back");
  t.equal(/the guest runs on (\S+?);/.exec(line)?.[1], top, 'the image the guest is on: the top');
  t.match(line, /; next: 'chain drive0' shows which image the disk runs on; delete nothing before$/, 'the next command, in the name the user gave');
  t.same(
    (await resolveDisk(client, 'drive0')).layers.map((l) => l.file),
    layers.map((l) => l.file),
    'the guest is on the whole chain, top active',
  );
  await t.resolves(qemuIo(top, readChecks(expectedView(layers)), { format: 'qcow2', forceShare: true }), 'and reads every MiB as before');
});

t.test("a pivot before READY is refused with the job's status, the guest's image and what next", async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const top = layers[3]!.file;
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${top},format=qcow2`, ...extraMonitorArgs(cli)] });
  // 1 byte/s: the job stays running.
  t.equal((await runCli(['commit', 'drive0', '--active', '--bandwidth', '1', '--bytes', '--socket', cli])).code, 0, 'the throttled active commit starts');
  const pivot = await runCli(['job', 'drive0', '--pivot', '--socket', cli]);
  t.equal(pivot.code, 1, 'the refused pivot exits 1');
  const lines = pivot.stderr.trim().split('\n');
  const line = lines[0] ?? '';
  t.equal(lines.length, 1, `one line: ${pivot.stderr}`);
  t.match(
    line,
    /cannot pivot commit job 'commit-drive0': not ready yet \(status running\); wait for READY first; the job is running; the guest runs on /,
    "why, and the job's state read back",
  );
  t.equal(/the guest runs on (\S+?);/.exec(line)?.[1], top, 'the image the guest is on: the top');
  t.match(
    line,
    /; next: 'job drive0 --info --verbose' follows the job until READY, then 'job drive0 --pivot'; or 'job drive0 --abort' to leave the guest on \S+$/,
    'the next command',
  );

  const job = await CommitJob.attach(client, { jobId: 'commit-drive0' }, { disk: 'drive0' });
  t.teardown(() => job.detach());
  const error = await job.pivot().then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(error instanceof JobStateError && !(error instanceof JobCommandError), 'the library refuses before sending: a JobStateError');
  const e = error as JobStateError;
  t.same([e.status, e.jobStatus, e.guestImage, e.disk, e.verb], ['running', 'running', top, 'drive0', 'pivot'], 'its facts, as typed fields');
  t.notMatch(e.message, /next:|--pivot|--abort/, 'the library gives facts, not CLI advice');
  t.equal((await client.execute('query-jobs'))[0]?.status, 'running', 'the job runs on');
  const aborted = await job.cancel({ timeoutMs: 30_000 });
  t.equal(aborted.outcome, 'aborted', 'aborted, as the message offered');
  t.same(
    (await resolveDisk(client, 'drive0')).layers.map((l) => l.file),
    layers.map((l) => l.file),
    'the guest is on the whole chain, top active',
  );
  await t.resolves(qemuIo(top, readChecks(expectedView(layers)), { format: 'qcow2', forceShare: true }), 'and reads every MiB as before');
});
