// `jobs` lists a running commit; `job DISK --bandwidth/--pause/--resume/--info/--pivot` act on it, as virsh blockjob does.
import path from 'node:path';
import t from 'tap';
import { resolveDisk } from '../src/internal.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { buildSeedChain } from './helpers/chain.js';
import { extraMonitorArgs, jsonLines, runCli } from './helpers/cli.js';

t.test('an async active commit is listed, throttled, paused, resumed and pivoted from the CLI', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildSeedChain(dir);
  const { client } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  const started = await runCli(['commit', 'drive0', '--active', '--bandwidth', '1', '--bytes', '--socket', cli]);
  t.equal(started.code, 0, `starting without --wait should succeed; stderr: ${started.stderr}`);
  t.match(started.stdout, /^Active Block Commit started$/m, "virsh's words for a started job");

  const jobs = jsonLines((await runCli(['jobs', '--json', '--socket', cli])).stdout);
  t.match(jobs, [{ type: 'job', id: 'commit-drive0', jobType: 'commit', speed: 1 }], 'jobs should list the commit with its speed');
  t.equal((await runCli(['job', 'drive0', '--bandwidth', '2', '--socket', cli])).code, 0, '--bandwidth should succeed');
  t.equal((await client.execute('query-block-jobs'))[0]?.speed, 2 * 1024 * 1024, 'the speed should now be 2 MiB/s');
  t.equal((await runCli(['job', 'drive0', '--pause', '--socket', cli])).code, 0, '--pause should succeed');
  t.equal((await client.execute('query-block-jobs'))[0]?.paused, true, 'the job should be paused');
  // Paused, the figures hold still: `jobs` and `job --info` must show the same percentage and the same label.
  const listed = jsonLines((await runCli(['jobs', '--json', '--socket', cli])).stdout)[0] as { percent: number };
  const paused = await runCli(['job', 'drive0', '--info', '--socket', cli]);
  t.match(paused.stderr, /^Active Block Commit: \[/m, 'an active commit is "Active Block Commit" before READY too (no label flip)');
  t.equal(Number(/\[\s*([\d.]+) %\]/.exec(paused.stderr)?.[1]), Number(listed.percent.toFixed(2)), 'jobs and job --info show the same percentage');
  t.equal((await runCli(['job', 'drive0', '--resume', '--socket', cli])).code, 0, '--resume should succeed');
  t.equal((await client.execute('query-block-jobs'))[0]?.paused, false, 'the job should run again');
  const info = await runCli(['job', 'drive0', '--info', '--verbose', '--socket', cli]);
  t.equal(info.code, 0, `--info --verbose should follow the job until it is ready; stderr: ${info.stderr}`);
  t.match(info.stderr, /Commit: \[100\.00 %\]/, 'progress should reach 100 % at READY');
  const pivot = await runCli(['job', 'commit-drive0', '--pivot', '--socket', cli]);
  t.equal(pivot.code, 0, `--pivot by job id should succeed; stderr: ${pivot.stderr}`);
  t.match(pivot.stdout, /^Successfully pivoted$/m, "virsh's words for a pivot");
  t.same(
    (await resolveDisk(client, 'drive0')).layers.map((l) => l.file),
    [layers[0]!.file],
    'the guest should run on base',
  );
  const none = await runCli(['job', 'drive0', '--info', '--socket', cli]);
  t.equal(none.code, 0, 'no job left: --info answers, as virsh blockjob --info does (scripts poll this way)');
  t.equal(none.stdout, 'No current block job for drive0\n', "and says so in virsh's words");
});
