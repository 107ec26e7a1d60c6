// Group commit details a user sees: --verbose on a pipe prints each disk's progress lines once per
// 10 % (vdb's too, none repeated); `--all --dry-run` names each disk as the user does (vda, never
// its node name); and a dry run on a base another disk also uses says QEMU will refuse to write
// into it instead of calling it "stays valid".
import path from 'node:path';
import t from 'tap';
import { createImage } from '../src/internal.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';
import { startGroupGuest } from './helpers/group-guest.js';
import { startQemu, tempDir } from './helpers/qemu.js';

t.test("--verbose off a terminal: every disk's progress, no line twice", async (t) => {
  const { cli } = await startGroupGuest(t);
  const run = await runCli(['commit', 'vda', 'vdb', '--active', '--pivot', '--verbose', '--socket', cli]);
  t.equal(run.code, 0, `pivots; stderr: ${run.stderr}`);
  for (const disk of ['vda', 'vdb']) {
    const lines = run.stderr.split('\n').filter((l) => l.startsWith(`Block commit ${disk}:`));
    t.ok(lines.length > 0, `${disk}'s progress is shown`);
    t.same(lines, [...new Set(lines)], `${disk}: no progress line is printed twice (${lines.join(' | ')})`);
  }
});

t.test('--all --dry-run names the disks vda and vdb', async (t) => {
  const { cli } = await startGroupGuest(t);
  const run = await runCli(['commit', '--all', '--pivot', '--dry-run', '--socket', cli]);
  t.equal(run.code, 0, `dry run; stderr: ${run.stderr}`);
  t.match(run.stdout, /^vda\[4\] c\.qcow2/m, 'vda by its name');
  t.match(run.stdout, /^vdb\[4\] c\.qcow2/m, 'vdb by its name');
  t.notMatch(run.stdout, /^[pq]4\[/m, 'never by the node name');
  t.notMatch(run.stdout, /^\s+\S+:\s*$/m, 'every image listed has its reason');
});

t.test('a dry run on a base shared with another disk says QEMU will refuse it', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const base = path.join(dir, 'base.raw');
  await createImage(base, { format: 'raw', size: '4M' });
  for (const top of ['a.qcow2', 'b.qcow2']) await createImage(path.join(dir, top), { format: 'qcow2', backing: base, backingFormat: 'raw' });
  await startQemu(t, {
    dir,
    machine: 'pc',
    args: [
      '-accel',
      'tcg',
      '-m',
      '64',
      '-blockdev',
      JSON.stringify({ driver: 'raw', 'node-name': 'base', 'read-only': true, file: { driver: 'file', filename: base } }),
      '-blockdev',
      JSON.stringify({ driver: 'qcow2', 'node-name': 'ta', backing: 'base', file: { driver: 'file', filename: path.join(dir, 'a.qcow2') } }),
      '-blockdev',
      JSON.stringify({ driver: 'qcow2', 'node-name': 'tb', backing: 'base', file: { driver: 'file', filename: path.join(dir, 'b.qcow2') } }),
      '-device',
      'virtio-blk-pci,id=vda,drive=ta',
      '-device',
      'virtio-blk-pci,id=vdb,drive=tb',
      ...extraMonitorArgs(cli),
    ],
  });
  const run = await runCli(['commit', 'vda', '--active', '--pivot', '--dry-run', '--socket', cli]);
  t.equal(run.code, 0, `dry run; stderr: ${run.stderr}`);
  t.match(
    run.stdout,
    /note: base \S+base\.raw is shared with vdb: QEMU will refuse this commit/,
    `the plan says the real run would be refused; stdout: ${run.stdout}`,
  );
  const real = await runCli(['commit', 'vda', '--active', '--pivot', '--socket', cli]);
  t.equal(real.code, 1, `and QEMU does refuse the real run; stderr: ${real.stderr}`);
});

t.test('two names of one disk in a group commit: a usage error, nothing started', async (t) => {
  const { cli, client } = await startGroupGuest(t);
  const run = await runCli(['commit', 'vda', 'p4', '--active', '--pivot', '--socket', cli]);
  t.equal(run.code, 2, `exit 2; stderr: ${run.stderr}`);
  t.match(run.stderr, /'vda' and 'p4' name the same disk \(p4\): one commit per disk/, 'says which names collide');
  t.same(await client.execute('query-jobs'), [], 'no job was started');
});
