// The controller dies mid-job (SIGKILL of a child process running the library): a new client
// attaches to the running job by its disk, lifts the speed limit, waits for READY and pivots; base
// equals the pre-commit guest view.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { CommitJob, JobVanishedError } from '../src/jobs/index.js';
import { compareImages } from '../src/transport/qemu-img.js';
import { buildSeedChain } from './helpers/chain.js';
import { driveArgs, flatCopy, withoutBlips } from './helpers/jobs.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { driveDisk, rangeOf } from './helpers/range.js';
import { resolveDisk } from '../src/block/index.js';
import { connect } from '../src/connect.js';

const childScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'commit-child.js');

t.test('reattach after the controller was killed', async (t) => {
  const dir = tempDir(t);
  const layers = await buildSeedChain(dir);
  const flat = await flatCopy(dir, layers);
  const second = path.join(dir, 'ctl.sock');
  // A second monitor: one for the child controller, later for its successor.
  const { client: first } = await startQemu(t, { dir, args: [...driveArgs(layers), '-qmp', `unix:${second},server=on,wait=off`] });
  const range = rangeOf(await driveDisk(first, layers, 'drive0'), 4, 1);

  const child = spawn(process.execPath, [childScript, second, JSON.stringify(range), String(64 * 1024)], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('child did not start the job in 20 s')), 20_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      out += s;
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(out.trim());
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`child exited (${code}) before starting: ${out}`));
    });
  });
  t.equal(line, 'started commit-drive0 running', 'the child controller should have started the job');
  child.kill('SIGKILL');
  await exited;

  const client = await connect({ path: second }, { connectTimeoutMs: 10_000 });
  t.teardown(() => client.close());
  await t.rejects(CommitJob.attach(client, { jobId: 'no-such-job' }), JobVanishedError, 'attaching to an unknown id says the outcome is unknown');
  const job = await CommitJob.attach(client, { range });
  t.equal(job.id, 'commit-drive0', 'the job should be found from the disk');
  t.equal(job.status, 'running', 'the rebuilt state should be running');
  await job.setSpeed(0);
  await job.waitUntilReady({ timeoutMs: 30_000 });
  const result = await job.pivot({ timeoutMs: 30_000 });
  t.same(withoutBlips(result.history), ['running', 'ready', 'waiting', 'pending', 'concluded', 'null'], 'whole state sequence seen since the attach');
  t.equal(result.outcome, 'pivoted', 'outcome should be pivoted');
  t.same(result.anomalies, [], 'no impossible transition');
  t.same(
    (await resolveDisk(client, 'drive0')).layers.map((l) => l.file),
    [layers[0]!.file],
    'the guest should now run on base',
  );
  t.ok(await compareImages(layers[0]!.file, flat, { forceShare: true }), 'base must equal the pre-commit guest view');
});
