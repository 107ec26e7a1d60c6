// The seed procedures through the CLI on the setups users have, beyond the tests' own chain shape:
// relative backing names (-drive), a -blockdev chain built by live snapshots under a virtio guest,
// and a two-disk guest where a job left at READY makes the disk busy. Each checks the data.
import { existsSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { qemuIo, resolveDisk } from '../src/internal.js';
import { buildRelativeChain, expectedView, readChecks, type Layer } from './helpers/chain.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';
import { startQemu, tempDir } from './helpers/qemu.js';
import { startTwoDiskGuest } from './helpers/two-disks.js';
import { startBaseOnlyGuest } from './helpers/base-guest.js';

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

t.test('relative backing names: seed B by the names the images record, then seed A, both with --delete', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const layers = await buildRelativeChain(dir);
  const { client, qemu } = await startQemu(t, { dir, args: ['-drive', `if=none,id=drive0,file=${layers[3]!.file},format=qcow2`, ...extraMonitorArgs(cli)] });
  const first = await runCli(['commit', 'drive0', '--base', 'base.raw', '--top', 'b.qcow2', '--wait', '--delete', '--socket', cli]);
  t.equal(first.code, 0, `intermediate commit by relative names; stderr: ${first.stderr}`);
  t.same(
    first.stdout.split('\n').filter((l) => l.startsWith('Deleted: ')),
    [`Deleted: ${layers[1]!.file}`, `Deleted: ${layers[2]!.file}`],
    'a and b left the chain: both deleted, each named',
  );
  t.same(
    (await resolveDisk(client, 'drive0')).layers.map((l) => l.file),
    [layers[0]!.file, layers[3]!.file],
    'c sits on base',
  );
  const second = await runCli(['commit', 'drive0', '--active', '--pivot', '--delete', '--socket', cli]);
  t.equal(second.code, 0, `active commit + pivot; stderr: ${second.stderr}`);
  t.match(second.stdout, new RegExp(`^Deleted: ${escape(layers[3]!.file)}$`, 'm'), 'the old top is deleted');
  t.ok(existsSync(layers[0]!.file) && !existsSync(layers[3]!.file), 'only base is left');
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  await t.resolves(qemuIo(layers[0]!.file, readChecks(expectedView(layers)), { format: 'raw' }), 'base holds the guest view');
});

t.test("a chain built by live snapshots (the CLI's snapshot) under a virtio guest: seed A by the disk's source path", async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const { client, qemu, base } = await startBaseOnlyGuest(t, dir, { id: 'vd0', extraArgs: extraMonitorArgs(cli) });
  const layers: Layer[] = [{ file: base, format: 'raw', writes: [[0, 4, 0x41]] }];
  for (const [name, writes] of [
    ['sn1', [[2, 4, 0x42]]],
    ['sn2', [[5, 4, 0x43]]],
    [
      'cur',
      [
        [0, 1, 0x44],
        [8, 2, 0x44],
      ],
    ],
  ] as const) {
    const file = path.join(dir, `${name}.qcow2`);
    const snap = await runCli(['snapshot', 'vd0', '--file', file, '--socket', cli]);
    t.equal(snap.code, 0, `snapshot ${name}; stderr: ${snap.stderr}`);
    for (const [off, len, pat] of writes) {
      const out = await client.execute('human-monitor-command', {
        'command-line': `qemu-io -d /machine/peripheral/vd0/virtio-backend "write -P ${pat} ${off}M ${len}M"`,
      });
      t.notMatch(out, /error/i, `the guest's write lands: ${out}`);
    }
    layers.push({ file, format: 'qcow2', writes: writes.map((w) => [...w] as [number, number, number]) });
  }
  const result = await runCli(['commit', layers[3]!.file, '--active', '--pivot', '--delete', '--socket', cli]);
  t.equal(result.code, 0, `active commit by the disk's source path; stderr: ${result.stderr}`);
  for (const layer of layers.slice(1)) t.notOk(existsSync(layer.file), `${path.basename(layer.file)} left the chain and is deleted`);
  t.same(
    (await resolveDisk(client, 'vd0')).layers.map((l) => l.file),
    [base],
    'the guest runs on base',
  );
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  await t.resolves(qemuIo(base, readChecks(expectedView(layers)), { format: 'raw' }), 'base holds every byte the guest wrote');
});

t.test('two disks: a job left at READY makes vdb busy (said as the user named it), job --pivot ends it, vda is merged on its own', async (t) => {
  const g = await startTwoDiskGuest(t);
  const cli = (...args: string[]) => runCli([...args, '--socket', g.qemu.socketPath]);
  await g.client.close();
  const ready = await cli('commit', 'vdb', '--active', '--wait');
  t.equal(ready.code, 0, `commit --active --wait returns at READY; stderr: ${ready.stderr}`);
  t.match(ready.stdout, /^Now in synchronized phase$/m, "virsh's words");
  const busy = await cli('commit', 'vdb', '--active', '--pivot');
  t.equal(busy.code, 1, 'a second commit on the busy disk is refused');
  t.match(
    busy.stderr,
    /cannot start commit on vdb \[m4\]: job id 'commit-vdb' is already in use/,
    'the message names the disk as typed, the node in brackets, and the job',
  );
  t.notMatch(busy.stderr, /CommitJob|attach\(\)/, 'no library call is suggested to a CLI user');
  const pivot = await cli('job', 'vdb', '--pivot');
  t.equal(pivot.code, 0, `job vdb --pivot; stderr: ${pivot.stderr}`);
  const vda = await cli('commit', 'vda', '--base', 'vda[1]', '--top', 'vda[3]', '--wait');
  t.equal(vda.code, 0, `intermediate commit on vda; stderr: ${vda.stderr}`);
  const chains = JSON.parse((await cli('blocks', '--json')).stdout.split('\n')[0]!) as { target: string };
  t.equal(chains.target, 'vda', 'blocks still lists vda first');
  await cli('qmp', 'quit');
  await g.qemu.exited;
  await t.resolves(qemuIo(g.vdb[0]!.file, readChecks(expectedView(g.vdb)), { format: 'raw' }), "vdb's base holds its guest view");
  await t.resolves(qemuIo(g.vda[3]!.file, readChecks(expectedView(g.vda)), { format: 'qcow2' }), "vda's top still reads its guest view");
});
