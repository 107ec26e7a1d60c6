// The first seed, typed as a virsh user would: three snapshots with guest writes between, then
// `commit vda --active --pivot --verbose`; base then holds every byte the guest saw and runs alone.
import path from 'node:path';
import t from 'tap';
import { qemuIo, resolveDisk } from '../src/internal.js';
import { tempDir } from './helpers/qemu.js';
import { extraMonitorArgs, runCli } from './helpers/cli.js';
import { startBaseOnlyGuest } from './helpers/base-guest.js';

t.test('snapshot ×3 then commit --active --pivot --verbose on a virtio guest', async (t) => {
  const dir = tempDir(t);
  const cli = path.join(dir, 'cli.sock');
  const { client, qemu, base } = await startBaseOnlyGuest(t, dir, { extraArgs: extraMonitorArgs(cli) });
  const domblklist = await runCli(['blocks', '--socket', cli]);
  t.match(domblklist.stdout, new RegExp(`vda\\s+${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 'blocks should list vda on base.raw');
  const writes: Array<[string, number, number, number]> = [
    ['sn1.qcow2', 2, 4, 0x42],
    ['sn2.qcow2', 5, 4, 0x43],
    ['cur.qcow2', 8, 2, 0x44],
  ];
  for (const [file, offset, count, byte] of writes) {
    const made = await runCli(['snapshot', 'vda', '--file', path.join(dir, file), '--socket', cli]);
    t.equal(made.code, 0, `snapshot ${file} should succeed; stderr: ${made.stderr}`);
    const reply = await client.execute('human-monitor-command', {
      'command-line': `qemu-io -d /machine/peripheral/vda/virtio-backend "write -P ${byte} ${offset}M ${count}M"`,
    });
    t.notMatch(reply, /^Error/m, `guest write into ${file} should work`);
  }
  const chain = await runCli(['chain', 'vda', '--socket', cli]);
  t.match(chain.stdout, /vda\[4\].*cur\.qcow2.*\(active\)[\s\S]*vda\[1\].*base\.raw/, 'chain should show four images, cur on top, base at [1]');

  const commit = await runCli(['commit', 'vda', '--verbose', '--pivot', '--active', '--socket', cli]);
  t.equal(commit.code, 0, `commit should succeed; stderr: ${commit.stderr}`);
  t.match(commit.stdout, /^Successfully pivoted$/m, "virsh's closing words should be printed");
  t.match(commit.stderr, /Block commit: \[100\.00 %\]/, 'progress should reach 100 % only at the end');
  t.match(commit.stdout, /no longer valid on their own: .*sn1\.qcow2, .*sn2\.qcow2, .*cur\.qcow2/, 'the invalidated images should be named');

  const after = await resolveDisk(client, 'vda');
  t.same(
    after.layers.map((l) => l.file),
    [base],
    'the guest should now run on base alone',
  );
  await client.execute('quit').catch(() => undefined);
  await qemu.exited;
  // base AAAA-------- , sn1 --BBBB------ , sn2 -----CCCC--- , cur --------DD-- (1 MiB per letter)
  const view = [0x41, 0x41, 0x42, 0x42, 0x42, 0x43, 0x43, 0x43, 0x44, 0x44, 0, 0];
  await t.resolves(
    qemuIo(
      base,
      view.map((b, m) => `read -P ${b} ${m}M 1M`),
      { format: 'raw' },
    ),
    'every MiB of base should read what the guest saw',
  );
});
